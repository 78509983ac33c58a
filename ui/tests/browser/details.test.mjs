// The chunk map, error messages and the drop overlay, in headless Chromium with a fake shell.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useHarness } from '../support.mjs';

// Must match PALETTE in src/lib/chunkmap.ts (what a person sees is what is asserted).
const LIGHT = {
  pending: [0xd5, 0xda, 0xe3],
  sending: [0x2f, 0x6f, 0xed],
  // A sending cell's unfilled part (SENDING_TRACK).
  sendingTrack: [0x9f, 0xb0, 0xcf],
  done: [0x23, 0xa3, 0x5a],
  retrying: [0xf0, 0xa0, 0x20],
  failed: [0xd9, 0x30, 0x25],
};

const open = useHarness({ before, after });

/** Waits until the canvas shows `rgb` at that spot (batches arrive asynchronously). */
async function waitColour(page, index, across, rgb) {
  const deadline = Date.now() + 5000;
  let got;
  while (Date.now() < deadline) {
    got = await cellColour(page, index, across);
    if (got.every((v, i) => v === rgb[i])) return;
    await page.waitForTimeout(20);
  }
  assert.deepEqual(got, rgb, `chunk ${index + 1} at ${across} of its width`);
}

/** RGB in chunk `index`'s cell, `across` of the way from its left edge (the centre by default). */
async function cellColour(page, index, across = 0.5) {
  return page.getByTestId('chunk-map').evaluate((canvas, [i, fx]) => {
    const ratio = canvas.width / canvas.getBoundingClientRect().width;
    const ctx = canvas.getContext('2d');
    const [cell, gap, cols] = ['cell', 'gap', 'cols'].map((k) => Number(canvas.dataset[k]));
    const pitch = cell + gap;
    const x = ((i % cols) * pitch + cell * fx) * ratio;
    const y = (Math.floor(i / cols) * pitch + cell / 2) * ratio;
    return Array.from(ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data.slice(0, 3));
  }, [index, across]);
}

describe('chunk map', () => {
  test('cells take the colour of their state as events arrive', async () => {
    const { page, context } = await open();
    const id = await page.evaluate(() => window.fake.add(['video.mp4'], 12_000_000, 1_000_000)[0].id);
    await page.locator('[role="row"]').first().click();
    await page.getByTestId('chunk-map').waitFor();
    assert.deepEqual(await cellColour(page, 0), LIGHT.pending);
    await page.evaluate((id) => {
      const b = (chunk, state) => ({ id, chunk, state, acked_bytes: 0 });
      return window.fake.push({
        added: [], replanned: [], files: [], progress: [], removed: [], totals: null, connectivity: null, notices: [], resync: false,
        chunks: [
          b(1, { state: 'done' }),
          b(2, { state: 'sending' }),
          b(3, { state: 'retrying', attempt: 3, retry_in_ms: 4000, reason: 'http://127.0.0.1:41000/upload answered 503: busy' }),
          b(4, { state: 'failed', kind: 'no_write_access', reason: 'refused (403)' }),
        ],
      });
    }, id);
    await page.locator('.legend li', { hasText: 'Done 1' }).waitFor();
    assert.deepEqual(await cellColour(page, 0), LIGHT.done);
    // Sending, nothing handed over yet: the empty track.
    assert.deepEqual(await cellColour(page, 1), LIGHT.sendingTrack);
    assert.deepEqual(await cellColour(page, 3), LIGHT.failed);
    assert.deepEqual(await cellColour(page, 4), LIGHT.pending);
    // The retry count is written inside the amber cell, so sample its corner.
    const corner = await page.getByTestId('chunk-map').evaluate((canvas) => {
      const ratio = canvas.width / canvas.getBoundingClientRect().width;
      const [cell, gap] = ['cell', 'gap'].map((k) => Number(canvas.dataset[k]));
      const ctx = canvas.getContext('2d');
      return Array.from(ctx.getImageData(Math.floor((2 * (cell + gap) + 1) * ratio), Math.floor(1 * ratio), 1, 1).data.slice(0, 3));
    });
    assert.deepEqual(corner, LIGHT.retrying);
    await context.close();
  });

  test('a sending cell fills from the left with its bytes in flight', async () => {
    const { page, context } = await open();
    const id = await page.evaluate(() => window.fake.add(['tape.tar'], 12_000_000, 1_000_000)[0].id);
    await page.locator('[role="row"]').first().click();
    await page.getByTestId('chunk-map').waitFor();
    const fly = (sent) =>
      page.evaluate(([id, sent]) => window.fake.push({
        chunks: [{ id, chunk: 2, state: { state: 'sending' }, acked_bytes: 0 }].filter(() => sent === 250_000),
        in_flight: [{ id, chunk: 2, sent_bytes: sent, chunk_bytes: 1_000_000 }],
      }), [id, sent]);
    await fly(250_000);
    await page.locator('.legend li', { hasText: 'Sending 1' }).waitFor();
    // A quarter handed over: the left quarter is filled, the rest is track.
    await waitColour(page, 1, 0.1, LIGHT.sending);
    assert.deepEqual(await cellColour(page, 1, 0.4), LIGHT.sendingTrack);
    assert.deepEqual(await cellColour(page, 1, 0.9), LIGHT.sendingTrack);
    await fly(900_000);
    await waitColour(page, 1, 0.8, LIGHT.sending);
    assert.deepEqual(await cellColour(page, 1, 0.97), LIGHT.sendingTrack);
    // The hover text tells the bytes on the way; the row's progress is unchanged.
    const box = await page.getByTestId('chunk-map').boundingBox();
    const [cell, gap] = await page.getByTestId('chunk-map').evaluate((c) => ['cell', 'gap'].map((k) => Number(c.dataset[k])));
    await page.mouse.move(box.x + cell + gap + cell / 2, box.y + cell / 2);
    await page.getByTestId('chunk-info').filter({ hasText: 'sending, 879 KiB on the way' }).waitFor();
    assert.equal(await page.locator('[role="row"] [role="progressbar"]').getAttribute('aria-valuenow'), '0');
    // Acknowledged: the whole cell turns done.
    await page.evaluate((id) => window.fake.push({ chunks: [{ id, chunk: 2, state: { state: 'done' }, acked_bytes: 1_000_000 }] }), id);
    await waitColour(page, 1, 0.97, LIGHT.done);
    await context.close();
  });

  test('hovering a cell tells its number, byte range and last answer', async () => {
    const { page, context } = await open();
    const id = await page.evaluate(() => window.fake.add(['song.flac'], 5_000_000, 1_000_000)[0].id);
    await page.locator('[role="row"]').first().click();
    await page.getByTestId('chunk-map').waitFor();
    await page.evaluate((id) => window.fake.push({
      added: [], replanned: [], files: [], progress: [], removed: [], totals: null, connectivity: null, notices: [], resync: false,
      chunks: [{ id, chunk: 2, state: { state: 'retrying', attempt: 2, retry_in_ms: 1500, reason: 'answered 503: busy' }, acked_bytes: 0 }],
    }), id);
    const box = await page.getByTestId('chunk-map').boundingBox();
    const [cell, gap] = await page.getByTestId('chunk-map').evaluate((c) => ['cell', 'gap'].map((k) => Number(c.dataset[k])));
    await page.mouse.move(box.x + cell + gap + cell / 2, box.y + cell / 2);
    const info = page.getByTestId('chunk-info');
    await info.filter({ hasText: 'Chunk 2 of 5' }).waitFor();
    const text = await info.textContent();
    assert.match(text, /bytes 1,000,000–1,999,999 \(977 KiB\)/);
    assert.match(text, /last answer: answered 503: busy/);
    // Keyboard: focus the map, End goes to the last chunk.
    await page.mouse.move(0, 0);
    await page.getByRole('application').focus();
    await page.keyboard.press('End');
    await info.filter({ hasText: 'Chunk 5 of 5' }).waitFor();
    await context.close();
  });

  test('10,000 chunks are drawn in one frame', async () => {
    const { page, context } = await open();
    await page.evaluate(() => window.fake.add(['disk.img'], 10_000_000_000, 1_000_000));
    await page.locator('[role="row"]').first().click();
    await page.getByTestId('chunk-map').waitFor();
    const ms = await page.evaluate(async () => {
      const id = window.fake.uploads.keys().next().value;
      const chunks = Array.from({ length: 10_000 }, (_, i) => ({ id, chunk: i + 1, state: { state: i % 2 ? 'done' : 'sending' }, acked_bytes: 0 }));
      const t0 = performance.now();
      await window.fake.push({ added: [], replanned: [], files: [], progress: [], removed: [], totals: null, connectivity: null, notices: [], resync: false, chunks });
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return performance.now() - t0;
    });
    assert.deepEqual(await cellColour(page, 9_999), LIGHT.done);
    assert.deepEqual(await cellColour(page, 9_998), LIGHT.sendingTrack);
    assert.ok(ms < 250, `10,000 chunk updates took ${ms.toFixed(0)} ms to reach the screen`);
    await context.close();
  });
});

describe('errors and drops', () => {
  test('a refused command shows its reason and what to do on the row', async () => {
    const { page, context } = await open();
    await page.evaluate(() => {
      window.fake.add(['locked.bin']);
      window.fake.failures.set('pause', { message: 'the upload engine has stopped', hint: 'Restart Twake Uploader.' });
    });
    await page.getByRole('button', { name: 'Pause locked.bin' }).click();
    const alert = page.locator('[role="row"] [role="alert"]');
    await alert.waitFor();
    assert.equal(await alert.textContent(), 'the upload engine has stopped Restart Twake Uploader.');
    await context.close();
  });

  test('a failed file shows the server reason and the action to take', async () => {
    const { page, context } = await open();
    await page.evaluate(async () => {
      const [u] = window.fake.add(['secret.docx']);
      await window.fake.setState(u.id, { state: 'failed', kind: 'refused', reason: 'http://127.0.0.1:41000/upload refused the upload (403): forbidden', retryable: false });
    });
    await page.getByRole('button', { name: 'Retry secret.docx' }).waitFor();
    const detail = await page.getByTestId('detail').first().textContent();
    assert.match(detail, /refused the upload \(403\): forbidden\. Check the file or the target, then retry\./);
    assert.equal(await page.getByRole('tab', { name: 'Failed 1' }).count(), 1);
    await context.close();
  });

  test('paths that could not be added are listed in a banner', async () => {
    const { page, context } = await open();
    await page.evaluate(() => {
      window.fake.nextPick = { names: ['ok.txt'], failures: [{ path: '/media/usb/gone.bin', reason: 'cannot read /media/usb/gone.bin: No such file or directory (os error 2)' }] };
    });
    await page.getByTestId('add-files').click();
    const banner = page.getByTestId('banner-error');
    await banner.waitFor();
    const text = await banner.textContent();
    assert.match(text, /1 file added to Local test server, but 1 could not be added/);
    assert.match(text, /\/media\/usb\/gone\.bin: cannot read/);
    await page.getByRole('button', { name: 'Dismiss this message' }).click();
    assert.equal(await page.getByTestId('banner-error').count(), 0);
    await context.close();
  });

  test("new files take their target's own chunk size until one is chosen, and the choice is kept", async () => {
    const { page, context } = await open();
    await page.getByTestId('settings').click();
    const dialog = page.getByTestId('settings-dialog');
    await dialog.waitFor();
    const size = dialog.getByLabel('Chunk size for new files');
    const shown = () => size.evaluate((el) => el.options[el.selectedIndex].textContent);
    assert.equal(await shown(), "Follows the link (from 1 MiB; 8 MiB for Twake Drive)");
    await size.selectOption({ label: '4 MiB' });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => window.fake.settings.chunk_size), 4 * 1024 * 1024);
    await page.getByTestId('settings').click();
    await dialog.waitFor();
    await size.selectOption({ index: 0 });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => window.fake.settings.chunk_size), null);
    await context.close();
  });

  test('starting at login follows watched folders by default, and Always or Never is kept', async () => {
    const { page, context } = await open();
    await page.getByTestId('settings').click();
    const dialog = page.getByTestId('settings-dialog');
    await dialog.waitFor();
    const start = dialog.getByLabel('Start at login, in the tray');
    assert.equal(await start.evaluate((el) => el.options[el.selectedIndex].textContent), 'While a folder is watched');
    await start.selectOption({ label: 'Never' });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => window.fake.settings.autostart), false);
    await page.getByTestId('settings').click();
    await dialog.waitFor();
    assert.equal(await start.evaluate((el) => el.options[el.selectedIndex].textContent), 'Never');
    await context.close();
  });

  test('settings refuse a bad value with the allowed range', async () => {
    const { page, context } = await open();
    await page.getByTestId('settings').click();
    const dialog = page.getByTestId('settings-dialog');
    await dialog.waitFor();
    await dialog.getByLabel('Chunks sent at once').fill('40');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const err = page.getByTestId('settings-error');
    await err.waitFor();
    assert.match(await err.textContent(), /Chunks sent at once must be a whole number from 0 to 16/);
    assert.equal(await dialog.getByLabel('Chunks sent at once').getAttribute('aria-invalid'), 'true');
    await dialog.getByLabel('Chunks sent at once').fill('4');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => window.fake.settings.parallel_chunks), 4);
    await context.close();
  });

  test('the network settings refuse a missing certificate file on its field and keep the proxy password out of the settings', async () => {
    const { page, context } = await open();
    await page.getByTestId('settings').click();
    const dialog = page.getByTestId('settings-dialog');
    await dialog.waitFor();
    const ca = dialog.getByLabel('Extra certificate authority (file)');
    await ca.fill('/home/me/missing-ca.pem');
    await dialog.getByRole('button', { name: 'Save' }).click();
    const err = page.getByTestId('settings-error');
    await err.waitFor();
    assert.match(await err.textContent(), /extra certificate authority file \/home\/me\/missing-ca\.pem cannot be used/);
    assert.equal(await ca.getAttribute('aria-invalid'), 'true');
    assert.ok(await ca.evaluate((el) => el === document.activeElement), 'focus is on the certificate field');

    await ca.fill('/etc/ssl/company-ca.pem');
    await dialog.getByLabel('Proxy', { exact: true }).fill('http://proxy.corp:3128');
    await dialog.getByLabel('Proxy user').fill('alice');
    await dialog.getByLabel('Proxy password').fill('s3cret-pw');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const saved = await page.evaluate(() => window.fake.settings);
    assert.equal(saved.ca_file, '/etc/ssl/company-ca.pem');
    assert.equal(saved.proxy_url, 'http://proxy.corp:3128');
    assert.equal(saved.proxy_user, 'alice');
    assert.doesNotMatch(JSON.stringify(saved), /s3cret-pw/, 'the password is not a setting');
    assert.equal(await page.evaluate(() => window.fake.keyring.get('proxy alice@http://proxy.corp:3128')), 's3cret-pw');

    await page.getByTestId('settings').click();
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel('Proxy password').inputValue(), '', 'the password is never shown again');
    assert.equal(await dialog.getByLabel('Proxy', { exact: true }).inputValue(), 'http://proxy.corp:3128');
    await context.close();
  });

  test('an empty or negative speed limit is refused in the form, by its label and range, never with raw text', async () => {
    const { page, context } = await open();
    await page.getByTestId('settings').click();
    const dialog = page.getByTestId('settings-dialog');
    await dialog.waitFor();
    const speed = dialog.getByLabel('Speed limit (KiB/s, 0 for none)');
    const err = page.getByTestId('settings-error');
    for (const typed of ['', '-5']) {
      await speed.fill(typed);
      await dialog.getByRole('button', { name: 'Save' }).click();
      await err.waitFor();
      const text = await err.textContent();
      assert.match(text, /Speed limit must be a whole number 0 or more/);
      assert.match(text, /0 for no limit/);
      assert.doesNotMatch(text, /invalid args|save_settings|u64|restart/i);
      // The field to correct has the keyboard, and says it is wrong.
      assert.equal(await speed.getAttribute('aria-invalid'), 'true');
      assert.ok(await speed.evaluate((el) => el === document.activeElement), 'focus is on the speed limit');
    }
    assert.equal(await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'save_settings').length), 0, 'nothing was sent');
    await speed.fill('500');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    // 500 KiB/s, kept by the shell in bytes per second.
    assert.equal(await page.evaluate(() => window.fake.settings.bandwidth_limit), 512_000);
    await context.close();
  });

  test('an error the shell did not write for people is shown in plain words', async () => {
    const { page, context } = await open();
    await page.evaluate(() => {
      window.fake.add(['a.bin']);
      window.fake.failures.set('pause_all', 'invalid args `ids` for command `pause_all`: missing field');
      window.fake.failures.set('pause', 'command pause not found');
    });
    await page.getByTestId('pause-all').click();
    const banner = page.getByTestId('banner-error');
    await banner.waitFor();
    const text = await banner.textContent();
    assert.match(text, /Could not pause: Twake Uploader could not do this/);
    assert.doesNotMatch(text, /invalid args|pause_all|missing field|restart/i);
    await page.getByRole('button', { name: 'Pause a.bin' }).click();
    const rowError = page.locator('[role="row"] [role="alert"]');
    await rowError.waitFor();
    assert.doesNotMatch(await rowError.textContent(), /not found|command|restart/i);
    await context.close();
  });

  test('every dialog opens with the keyboard on its first field and keeps Tab inside', async () => {
    const { page, context } = await open();
    const inside = (testid) => page.evaluate((t) => !!document.activeElement?.closest(`[data-testid="${t}"]`), testid);
    await page.getByTestId('settings').click();
    await page.getByTestId('settings-dialog').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'SELECT', 'the chunk size, the first field');
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab');
      assert.ok(await inside('settings-dialog'), `key ${i + 1} stays in Settings`);
    }
    await page.keyboard.press('Escape');
    await page.getByTestId('settings-dialog').waitFor({ state: 'detached' });
    await page.getByTestId('target').selectOption({ label: 'Add a Resumable.js server…' });
    await page.getByTestId('add-target-dialog').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.closest('label')?.textContent.trim()), 'Upload address');
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      assert.ok(await inside('add-target-dialog'), `Tab ${i + 1} stays in the dialog`);
    }
    await context.close();
  });

  test('a Resumable.js server address is taken as typed: https when it has no scheme, errors in words', async () => {
    const { page, context } = await open();
    await page.getByTestId('target').selectOption({ label: 'Add a Resumable.js server…' });
    const dialog = page.getByTestId('add-target-dialog');
    await dialog.waitFor();
    await dialog.getByLabel('Upload address').fill('uploads example com');
    await dialog.getByRole('button', { name: 'Add and use it' }).click();
    await dialog.getByRole('alert').waitFor();
    assert.match(await dialog.getByRole('alert').textContent(), /'uploads example com' is not a server address.*like https:\/\/example\.com\/upload/);
    assert.equal(await dialog.getByLabel('Upload address').getAttribute('aria-invalid'), 'true');
    assert.ok(await dialog.getByLabel('Upload address').evaluate((el) => el === document.activeElement), 'the address has the keyboard');
    await dialog.getByLabel('Upload address').fill('uploads.example.com/upload');
    await dialog.getByRole('button', { name: 'Add and use it' }).click();
    await dialog.waitFor({ state: 'detached' });
    const added = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'add_resumable_target').map((c) => c.args.url));
    assert.deepEqual(added, ['https://uploads.example.com/upload']);
    assert.equal(await page.getByTestId('target').inputValue(), 'resumable:https://uploads.example.com/upload');
    await context.close();
  });

  test('losing the network shows a calm banner until it comes back, and engine notices show', async () => {
    const { page, context } = await open();
    const batch = (over) => ({ added: [], replanned: [], files: [], chunks: [], progress: [], removed: [], totals: null, connectivity: null, notices: [], resync: false, ...over });
    await page.evaluate((b) => window.fake.push(b), batch({ connectivity: { online: false, reason: 'connection refused' }, notices: ['The queue database was damaged and moved aside.'] }));
    const strip = page.getByTestId('offline');
    await strip.waitFor();
    assert.match(await strip.textContent(), /Waiting for the network\..*continue by themselves.*\(connection refused\)/s);
    assert.match(await page.getByTestId('banner-info').textContent(), /database was damaged/);
    await page.evaluate((b) => window.fake.push(b), batch({ connectivity: { online: true, reason: null } }));
    await strip.waitFor({ state: 'detached' });
    await context.close();
  });

  test('dragging files over the window shows the drop overlay until they leave', async () => {
    const { page, context } = await open();
    await page.evaluate(() => window.fake.emit('tauri://drag-enter', { paths: ['/home/me/a.txt'], position: { x: 10, y: 10 } }));
    const overlay = page.getByTestId('drop-overlay');
    await overlay.waitFor();
    assert.match(await overlay.textContent(), /Files and folders go to Local test server/);
    await page.evaluate(() => window.fake.emit('tauri://drag-leave', null));
    await overlay.waitFor({ state: 'detached' });
    await context.close();
  });

  test('the dark theme follows the system setting', async () => {
    const light = await open({ colorScheme: 'light' });
    const dark = await open({ colorScheme: 'dark' });
    const bg = (p) => p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    assert.equal(await bg(light.page), 'rgb(245, 247, 251)');
    assert.equal(await bg(dark.page), 'rgb(18, 21, 27)');
    await light.context.close();
    await dark.context.close();
  });

  test('every button has a name a screen reader can say', async () => {
    const { page, context } = await open();
    await page.evaluate(() => window.fake.add(['a.txt']));
    await page.locator('[role="row"]').first().click();
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('button')].filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim())).map((b) => b.outerHTML),
    );
    assert.deepEqual(unnamed, []);
    await context.close();
  });
});
