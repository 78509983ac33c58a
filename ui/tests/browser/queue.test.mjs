// The real UI in headless Chromium against a fake shell (mockIPC): what a person does with the
// queue, and what they see when things go wrong.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useHarness } from '../support.mjs';

const fresh = useHarness({ before, after });

const rowState = (page, name) =>
  page.locator(`[role="row"]:has(.title:text-is("${name}")) [data-testid="state"]`).textContent();

describe('queue', () => {
  test('adding files through the picker lists them with sizes and the target name', async () => {
    const { page, problems, context } = await fresh();
    await page.getByTestId('empty').waitFor();
    await page.getByTestId('add-files').click();
    await page.locator('[role="row"]').nth(2).waitFor();
    const names = await page.locator('[role="row"] .title').allTextContents();
    assert.deepEqual(names, ['report.pdf', 'holiday.mov', 'notes.txt']);
    const sub = await page.locator('[role="row"] .sub').first().textContent();
    assert.match(sub, /23 MiB · to Local test server/);
    assert.match(await page.getByTestId('totals').textContent(), /0 of 3 files · 0 B of 69 MiB/);
    assert.equal(await page.getByRole('tab', { name: /All/ }).textContent(), 'All 3');
    assert.deepEqual(problems, []);
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
    await context.close();
  });

  test('files handed over in several batches to a non-empty queue are all drawn, and every count agrees', async () => {
    const { page, context, problems } = await fresh();
    const drawn = () => page.locator('[role="row"]').count();
    const agree = async (n, active) => {
      await page.getByRole('tab', { name: `All ${n}` }).waitFor();
      await page.waitForFunction((n) => document.querySelectorAll('[role="row"]').length === n, n);
      assert.equal(await drawn(), n, 'rows drawn');
      assert.equal(await page.getByTestId('queue').getAttribute('aria-label'), `Upload queue, ${n} ${n === 1 ? 'file' : 'files'}`);
      assert.equal(await page.getByTestId('queue').getAttribute('aria-rowcount'), String(n));
      assert.match(await page.getByTestId('totals').textContent(), new RegExp(`^\\d+ of ${n} files? ·`));
      assert.equal(await page.getByRole('tab', { name: /^Active/ }).textContent(), `Active ${active}`);
    };
    // Three launches, as a file manager hands files over: 2, then 3, then 2.
    await page.evaluate(() => window.fake.handOver(['a.bin', 'b.bin']));
    await agree(2, 2);
    await page.evaluate(() => window.fake.handOver(['c.bin', 'd.bin', 'e.bin']));
    await agree(5, 5);
    await page.evaluate(async () => {
      await window.fake.setState(1, { state: 'done' });
      await window.fake.handOver(['f.bin', 'g.bin']);
    });
    await agree(7, 6);
    assert.deepEqual(await page.locator('[role="row"] .title').allTextContents(), ['a.bin', 'b.bin', 'c.bin', 'd.bin', 'e.bin', 'f.bin', 'g.bin']);
    // Other tabs and the other ways in (picker, a drop of plain files) draw every file too.
    await page.getByRole('tab', { name: 'Active 6' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[role="row"]').length === 6);
    await page.getByTestId('add-files').click();
    await page.getByRole('tab', { name: 'Active 9' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[role="row"]').length === 9);
    assert.equal(await page.getByTestId('queue').getAttribute('aria-label'), 'Upload queue, 9 files');
    await page.getByRole('tab', { name: 'All 10' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[role="row"]').length === 10);
    assert.match(await page.getByTestId('totals').textContent(), /^1 of 10 files ·/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('files added while the window re-reads the queue are not lost when the older snapshot lands', async () => {
    const { page, context } = await fresh();
    await page.evaluate(async () => {
      window.fake.add(['a.bin', 'b.bin']);
      let open;
      window.fake.snapshotGate = new Promise((r) => (open = r));
      window.openSnapshot = open;
      // The shell fell behind: the window asks for a snapshot, which is taken at once…
      await window.fake.push({ resync: true });
    });
    await page.waitForFunction(() => window.fake.calls.filter((c) => c.cmd === 'snapshot').length === 2);
    // …then a second launch hands a file over before the snapshot's answer arrives.
    await page.evaluate(async () => {
      await window.fake.handOver(['late.bin']);
      window.fake.snapshotGate = null;
      window.openSnapshot();
    });
    await page.getByRole('tab', { name: 'All 3' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[role="row"]').length === 3);
    assert.deepEqual(await page.locator('[role="row"] .title').allTextContents(), ['a.bin', 'b.bin', 'late.bin']);
    assert.match(await page.getByTestId('totals').textContent(), /^0 of 3 files/);
    await context.close();
  });

  test('pausing and resuming a row calls the shell and follows its answer', async () => {
    const { page, context } = await fresh();
    await page.evaluate(() => {
      const [u] = window.fake.add(['movie.mkv']);
      window.fake.setState(u.id, { state: 'uploading' });
      window.fake.setProgress(u.id, 7_000_000, 500_000, 120);
    });
    // The time left follows the speed shown: 17 MB at 500 KB/s.
    await page.getByTestId('detail').filter({ hasText: '6.7 MiB of 23 MiB (488 KiB/s) · 34 s left' }).waitFor();
    assert.match(await page.getByTestId('totals').textContent(), /6\.7 MiB of 23 MiB \(488 KiB\/s\) · 34 s left$/);
    assert.equal(await rowState(page, 'movie.mkv'), 'Uploading');
    await page.getByRole('button', { name: 'Pause movie.mkv' }).click();
    await page.getByRole('button', { name: 'Resume movie.mkv' }).waitFor();
    assert.equal(await rowState(page, 'movie.mkv'), 'Paused');
    // Paused: no speed or time left, and the bytes stay where they were.
    assert.equal(await page.getByTestId('detail').first().textContent(), '6.7 MiB of 23 MiB');
    await page.getByRole('button', { name: 'Resume movie.mkv' }).click();
    await page.getByRole('button', { name: 'Pause movie.mkv' }).waitFor();
    assert.equal(await rowState(page, 'movie.mkv'), 'Waiting');
    const calls = await page.evaluate(() => window.fake.calls.map((c) => `${c.cmd}:${c.args?.id ?? ''}`));
    assert.ok(calls.includes('pause:1') && calls.includes('resume:1'), calls.join(' '));
    await context.close();
  });

  test('an empty file is not shown full before it is done, and reads Uploaded · 0 B after', async () => {
    const { page, context } = await fresh();
    const id = await page.evaluate(() => window.fake.add(['empty.txt'], 0)[0].id);
    const row = page.locator('[role="row"]:has(.title:text-is("empty.txt"))');
    await row.waitFor();
    const seen = async () => ({
      state: await row.getByTestId('state').textContent(),
      pct: await row.locator('.pct').textContent(),
      bar: await row.getByRole('progressbar').getAttribute('aria-valuenow'),
      detail: await row.getByTestId('detail').textContent(),
    });
    assert.deepEqual(await seen(), { state: 'Waiting', pct: '0 %', bar: '0', detail: 'Empty file (0 B)' });
    await page.evaluate((id) => window.fake.setState(id, { state: 'uploading' }), id);
    await row.getByTestId('state').filter({ hasText: 'Uploading' }).waitFor();
    assert.doesNotMatch(await row.getByTestId('detail').textContent(), /0 B of 0 B/);
    await page.evaluate((id) => window.fake.setState(id, { state: 'done' }), id);
    await row.getByTestId('state').filter({ hasText: 'Uploaded' }).waitFor();
    assert.deepEqual(await seen(), { state: 'Uploaded', pct: '100 %', bar: '100', detail: '0 B uploaded' });
    await context.close();
  });

  test('a row and the totals show one speed and one time left', async () => {
    const { page, context } = await fresh();
    await page.evaluate(async () => {
      const [a] = window.fake.add(['only.iso'], 100 * 1024 * 1024);
      await window.fake.setState(a.id, { state: 'uploading' });
      // The engine's own totals disagree (another window of time): the window does not use them.
      await window.fake.push({ progress: [{ id: a.id, acked_bytes: 20 * 1024 * 1024, total_bytes: 100 * 1024 * 1024, bytes_per_sec: 4 * 1024 * 1024, eta_secs: 4 }], totals: { ...window.fake.totals(), bytes_per_sec: 2 * 1024 * 1024, eta_secs: 8 } });
    });
    await page.getByTestId('detail').filter({ hasText: '4.0 MiB/s' }).waitFor();
    const row = await page.getByTestId('detail').textContent();
    assert.equal(row, '20 MiB of 100 MiB (4.0 MiB/s) · 20 s left');
    assert.match(await page.getByTestId('totals').textContent(), /· 20 MiB of 100 MiB \(4\.0 MiB\/s\) · 20 s left$/);
    await context.close();
  });

  test('progress never goes backwards when an older figure arrives late', async () => {
    const { page, context } = await fresh();
    await page.evaluate(async () => {
      const [u] = window.fake.add(['big.iso']);
      await window.fake.setState(u.id, { state: 'uploading' });
      await window.fake.setProgress(u.id, 12_000_000, 1_000_000, 12);
      await window.fake.setProgress(u.id, 3_000_000, 1_000_000, 21);
    });
    await page.getByTestId('detail').filter({ hasText: 'of 23 MiB' }).waitFor();
    assert.match(await page.getByTestId('detail').first().textContent(), /^11 MiB of 23 MiB/);
    assert.equal(await page.locator('[role="row"] [role="progressbar"]').getAttribute('aria-valuenow'), '50');
    await context.close();
  });

  test('10,000 rows stay virtual and scroll to the last one', async () => {
    const { page, context } = await fresh();
    await page.evaluate(() => window.fake.addMany(10_000));
    await page.getByRole('tab', { name: 'All 10,000' }).waitFor();
    const inDom = await page.locator('[role="row"]').count();
    assert.ok(inDom > 5 && inDom < 60, `${inDom} rows in the DOM`);
    await page.getByTestId('queue').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.locator('[role="row"]:has(.title:text-is("file-10000.bin"))').waitFor();
    assert.equal(await page.locator('[role="row"]').last().getAttribute('aria-rowindex'), '10000');
    // Keyboard: Home selects the first file and scrolls back up.
    await page.locator('[role="row"]').last().click();
    await page.keyboard.press('Home');
    await page.locator('[role="row"][aria-selected="true"]:has(.title:text-is("file-1.bin"))').waitFor();
    await context.close();
  });

  test('tabs filter the queue and the failed tab offers retry all', async () => {
    const { page, context } = await fresh();
    await page.evaluate(async () => {
      const us = window.fake.add(['a.txt', 'b.txt', 'c.txt']);
      await window.fake.setState(us[0].id, { state: 'done' });
      await window.fake.setState(us[1].id, { state: 'failed', kind: 'no_write_access', reason: 'the server refused it (403)', retryable: false });
    });
    await page.getByRole('tab', { name: 'Failed 1' }).click();
    assert.deepEqual(await page.locator('[role="row"] .title').allTextContents(), ['b.txt']);
    await page.getByTestId('retry-all').click();
    await page.getByRole('tab', { name: 'Done 1' }).click();
    assert.deepEqual(await page.locator('[role="row"] .title').allTextContents(), ['a.txt']);
    await page.getByRole('tab', { name: 'Active 1' }).click();
    assert.deepEqual(await page.locator('[role="row"] .title').allTextContents(), ['c.txt']);
    const calls = await page.evaluate(() => window.fake.calls.map((c) => c.cmd));
    assert.ok(calls.includes('retry_all_failed'));
    await context.close();
  });
  test('dragging a row by its grip moves it in the queue through the shell', async () => {
    const { page, context, problems } = await fresh();
    await page.evaluate(() => window.fake.add(['a.bin', 'b.bin', 'c.bin', 'd.bin']));
    const titles = () => page.locator('[role="row"] .title').allTextContents();
    await page.locator('[role="row"]').nth(3).waitFor();
    const grip = page.locator('[role="row"]:has(.title:text-is("d.bin")) [data-testid="grip"]');
    const from = await grip.boundingBox();
    const first = await page.locator('[role="row"]').first().boundingBox();
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    // Towards the top of the first row, in steps as a hand would.
    await page.mouse.move(from.x + from.width / 2, first.y + 10, { steps: 8 });
    const line = page.getByTestId('drop-indicator');
    await line.waitFor();
    const lineBox = await line.boundingBox();
    assert.ok(Math.abs(lineBox.y - first.y) <= 3, `the drop line is above the first row (${lineBox.y} vs ${first.y})`);
    assert.equal(await page.locator('[role="row"].dragging .title').textContent(), 'd.bin');
    await page.mouse.up();
    await line.waitFor({ state: 'detached' });
    await page.waitForFunction(() => document.querySelector('[role="row"] .title')?.textContent === 'd.bin');
    assert.deepEqual(await titles(), ['d.bin', 'a.bin', 'b.bin', 'c.bin']);
    const calls = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'reorder').map((c) => c.args));
    assert.deepEqual(calls, [{ id: 4, before: 1 }]);
    // The order is the shell's: a reload shows the same.
    assert.deepEqual(await page.evaluate(() => [...window.fake.uploads.keys()]), [4, 1, 2, 3]);
    // Dropping a row back where it was asks for nothing.
    const b = await page.locator('[role="row"]:has(.title:text-is("b.bin")) [data-testid="grip"]').boundingBox();
    await page.mouse.move(b.x + 4, b.y + 4);
    await page.mouse.down();
    await page.mouse.move(b.x + 4, b.y + 10, { steps: 3 });
    await page.mouse.up();
    assert.equal(await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'reorder').length), 1);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('upload next and Alt+arrows move a waiting file from the keyboard or a button', async () => {
    const { page, context } = await fresh();
    await page.evaluate(async () => {
      const us = window.fake.add(['a.bin', 'b.bin', 'c.bin']);
      await window.fake.setState(us[0].id, { state: 'uploading' });
    });
    const titles = () => page.locator('[role="row"] .title').allTextContents();
    // Only waiting files offer "upload next".
    await page.getByRole('button', { name: 'Upload c.bin next' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Upload a.bin next' }).count(), 0);
    await page.getByRole('button', { name: 'Upload c.bin next' }).click();
    await page.waitForFunction(() => document.querySelector('[role="row"] .title')?.textContent === 'c.bin');
    assert.deepEqual(await titles(), ['c.bin', 'a.bin', 'b.bin']);
    // Keyboard: select b.bin, Alt+Up twice brings it to the top.
    await page.locator('[role="row"]:has(.title:text-is("b.bin"))').click();
    await page.keyboard.press('Alt+ArrowUp');
    await page.waitForFunction(() => document.querySelectorAll('[role="row"] .title')[1]?.textContent === 'b.bin');
    await page.keyboard.press('Alt+ArrowUp');
    await page.waitForFunction(() => document.querySelector('[role="row"] .title')?.textContent === 'b.bin');
    assert.deepEqual(await titles(), ['b.bin', 'c.bin', 'a.bin']);
    assert.equal(await page.locator('[role="row"][aria-selected="true"] .title').textContent(), 'b.bin');
    const calls = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'move_to_front' || c.cmd === 'reorder').map((c) => [c.cmd, c.args]));
    assert.deepEqual(calls, [
      ['move_to_front', { id: 3 }],
      ['reorder', { id: 2, before: 1 }],
      ['reorder', { id: 2, before: 3 }],
    ]);
    await context.close();
  });
});
