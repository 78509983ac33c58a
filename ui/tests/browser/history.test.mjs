// The History tab in headless Chromium with a fake shell: finished files stay listed after
// "Clear finished", the search, the CSV export, "Clear history" with its confirmation, and a
// long history drawn a few lines at a time.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useHarness } from '../support.mjs';

const open = useHarness({ before, after });

const lines = (page) => page.getByTestId('history-line');
const names = (page) => page.evaluate(() => [...document.querySelectorAll('[data-testid="history-line"]')].map((l) => l.dataset.name));

describe('history', () => {
  test('finished files stay listed after Clear finished; search, export and clear with a confirmation', async () => {
    const { page, problems, context } = await open();
    await page.evaluate(async () => {
      const [a, b, c] = window.fake.add(['report.pdf', 'photos/beach.jpg', 'notes.txt']);
      await window.fake.setState(a.id, { state: 'done' });
      await window.fake.setState(b.id, { state: 'failed', kind: 'quota', reason: 'Twake Drive is full', retryable: false });
      await window.fake.setState(c.id, { state: 'uploading' });
    });
    await page.getByRole('button', { name: 'Clear finished' }).click();
    await page.getByRole('tab', { name: 'History' }).click();
    await lines(page).first().waitFor();
    assert.deepEqual((await names(page)).sort(), ['beach.jpg', 'report.pdf']);
    assert.equal(await page.getByTestId('history-count').textContent(), '2 files in the history');
    const failed = page.locator('[data-testid="history-line"][data-name="beach.jpg"]');
    assert.equal(await failed.getByTestId('history-result').textContent(), 'Failed');
    assert.equal(await failed.getByTestId('history-result').getAttribute('title'), 'Twake Drive is full');
    assert.match(await failed.textContent(), /photos · to Local test server · 23 MiB/);

    // A file finishing while the tab is open appears by itself.
    await page.evaluate(() => window.fake.setState([...window.fake.uploads.values()].find((u) => u.relative_path === 'notes.txt').id, { state: 'done' }));
    await page.locator('[data-testid="history-line"][data-name="notes.txt"]').waitFor();

    await page.getByTestId('history-search').fill('PHOTOS');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-line"]').length === 1);
    assert.deepEqual(await names(page), ['beach.jpg']);
    await page.getByRole('button', { name: 'Export CSV…' }).click();
    assert.equal(await page.getByTestId('history-note').textContent(), '1 line exported.');
    const exported = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'export_history').map((c) => c.args));
    assert.deepEqual(exported, [{ search: 'PHOTOS' }]);
    await page.getByTestId('history-search').fill('nothing like it');
    await page.getByText('Nothing in the history matches “nothing like it”.').waitFor();
    await page.getByTestId('history-search').fill('');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-line"]').length === 3);

    // Clear history asks first; Escape keeps it.
    await page.getByRole('button', { name: 'Clear history' }).click();
    const dialog = page.getByTestId('clear-history-dialog');
    assert.match(await dialog.textContent(), /Nothing is deleted on the server/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await lines(page).count(), 3);
    await page.getByRole('button', { name: 'Clear history' }).click();
    await page.getByTestId('clear-history-confirm').click();
    await page.getByTestId('history-empty').waitFor();
    assert.deepEqual(problems, []);
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
    await context.close();
  });

  test('10,000 lines: a few in the page, read a page at a time as the list scrolls', async () => {
    const { page, context } = await open();
    await page.evaluate(() => window.fake.addHistory(10_000));
    await page.getByRole('tab', { name: 'History' }).click();
    await lines(page).first().waitFor();
    assert.equal(await page.getByTestId('history-count').textContent(), '10,000 files in the history');
    assert.ok((await lines(page).count()) < 60, `${await lines(page).count()} lines in the page`);
    // Newest first: the last one added is on top.
    assert.equal((await names(page))[0], 'file-10000.bin');
    await page.getByTestId('history-list').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.locator('[data-testid="history-line"][data-name="file-1.bin"]').waitFor();
    const asked = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'history').map((c) => c.args.query.offset));
    assert.ok(asked.length <= 4, `pages read: ${asked}`);
    await context.close();
  });

  test('in French: words, sizes and dates as French writes them', async () => {
    const { page, context } = await open({ systemLanguage: 'fr' });
    await page.evaluate(() => window.fake.addHistory(1));
    await page.getByRole('tab', { name: 'Historique' }).click();
    const line = lines(page).first();
    await line.waitFor();
    assert.equal(await line.getByTestId('history-result').textContent(), 'Envoyé');
    assert.match(await line.getByTestId('history-when').textContent(), /\d{1,2} nov\. 2025/);
    assert.equal(await page.getByTestId('history-count').textContent(), '1\u00a0fichier dans l’historique');
    await context.close();
  });
});
