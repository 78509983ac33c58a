// The "Watched folders" panel and the drop choice, in headless Chromium with a fake shell:
// adding, pausing, removing with its confirmation, each state in words, ignore patterns.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useHarness } from '../support.mjs';

const open = useHarness({ before, after });

const folderRow = (page, path) => page.locator(`[data-testid="watched"][data-path="${path}"]`);
const calls = (page) => page.evaluate(() => window.fake.calls.map((c) => c.cmd));

describe('watched folders', () => {
  test('adding a folder with the picker lists it with its target, and the note says upload-only', async () => {
    const { page, problems, context } = await open();
    // Keyboard: the tab is reached with the arrow keys from the queue's tabs.
    await page.getByRole('tab', { name: /^All/ }).focus();
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
    await page.getByTestId('watch-empty').waitFor();
    assert.equal(await page.getByRole('tab', { name: 'Watched folders' }).getAttribute('aria-selected'), 'true');
    assert.match(await page.getByTestId('upload-only').textContent(), /deleting a file on this computer never deletes it on the server/);
    await page.getByRole('button', { name: 'Watch a folder…' }).click();
    const row = folderRow(page, '/home/me/Photos');
    await row.waitFor();
    assert.match(await row.textContent(), /to Local test server/);
    assert.equal(await row.getByTestId('watch-state').textContent(), 'Scanning: 0 files so far');
    assert.ok((await calls(page)).includes('watch_pick'));
    assert.deepEqual(problems, []);
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
    await context.close();
  });

  test('each state shows in words, with the last sync time', async () => {
    const { page, context } = await open();
    await page.getByRole('tab', { name: 'Watched folders' }).click();
    const path = '/home/me/Work';
    const row = folderRow(page, path);
    const state = row.getByTestId('watch-state');
    const show = (over) => page.evaluate(([p, o]) => window.fake.setFolder(p, o), [path, over]);
    await show({ state: { state: 'scanning', seen: 1200, total: 5000 }, files: 5000 });
    await row.waitFor();
    assert.equal(await state.textContent(), 'Scanning: 1,200 of 5,000 files');
    await show({ state: { state: 'syncing', pending: 3 } });
    await page.getByText('3 files pending').waitFor();
    await show({ state: { state: 'up_to_date' }, last_sync: Math.floor(Date.now() / 1000) - 125 });
    await page.getByText('Up to date').waitFor();
    assert.equal(await row.getByTestId('last-sync').textContent(), 'Last sync 2 min ago');
    assert.match(await row.textContent(), /5,000 files synced/);
    await show({ state: { state: 'error', reason: 'http://127.0.0.1:41000/upload refused the upload (403)' } });
    await page.getByText('Error: http://127.0.0.1:41000/upload refused the upload (403)').waitFor();
    assert.match(await state.getAttribute('class'), /\bbad\b/);
    await context.close();
  });

  test('pause and resume call the shell and follow its answer', async () => {
    const { page, context } = await open();
    await page.evaluate(() => window.fake.setFolder('/home/me/Photos', { state: { state: 'up_to_date' }, files: 12 }));
    await page.getByRole('tab', { name: 'Watched folders' }).click();
    await page.getByRole('button', { name: 'Pause watching Photos' }).click();
    await page.getByRole('button', { name: 'Resume watching Photos' }).waitFor();
    assert.equal(await folderRow(page, '/home/me/Photos').getByTestId('watch-state').textContent(), 'Paused');
    await page.getByRole('button', { name: 'Resume watching Photos' }).click();
    await page.getByText('Scanning: 0 of 12 files').waitFor();
    const args = await page.evaluate(() =>
      window.fake.calls.filter((c) => c.cmd === 'pause_watch').map((c) => `${c.args.path}:${c.args.paused}`),
    );
    assert.deepEqual(args, ['/home/me/Photos:true', '/home/me/Photos:false']);
    await context.close();
  });

  test('removing asks first, says uploaded files stay on the server, and can be cancelled', async () => {
    const { page, context } = await open();
    await page.evaluate(() => window.fake.setFolder('/home/me/Photos', { state: { state: 'up_to_date' } }));
    await page.getByRole('tab', { name: 'Watched folders' }).click();
    await page.getByRole('button', { name: 'Stop watching Photos' }).click();
    const dialog = page.getByTestId('unwatch-dialog');
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /The files already uploaded stay on the server/);
    // Esc keeps watching.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.ok(!(await calls(page)).includes('remove_watch'));
    await page.getByRole('button', { name: 'Stop watching Photos' }).click();
    await page.getByTestId('unwatch-confirm').click();
    await page.getByTestId('watch-empty').waitFor();
    assert.ok((await calls(page)).includes('remove_watch'));
    await context.close();
  });

  test('dropping a folder offers upload once or watch', async () => {
    const { page, context } = await open();
    await page.evaluate(() => window.fake.emit('tauri://drag-enter', { paths: [], position: { x: 1, y: 1 } }));
    assert.match(await page.getByTestId('drop-overlay').textContent(), /upload them once or to watch them/);
    // "Upload once": the folder's files are queued, nothing is watched.
    await page.evaluate(() => window.fake.dropFolders(['/home/me/Trip']));
    const choice = page.getByTestId('drop-choice');
    await choice.waitFor();
    assert.match(await choice.textContent(), /You dropped the folder Trip, for Local test server/);
    await page.getByTestId('drop-once').click();
    await page.locator('[role="row"] .title:text-is("inside.bin")').waitFor();
    assert.equal(await page.evaluate(() => window.fake.watched.size), 0);
    // "Watch": the folder is watched and the panel opens; the plain file is uploaded once.
    await page.evaluate(() => window.fake.dropFolders(['/home/me/Scans'], ['/home/me/cover.pdf']));
    await choice.waitFor();
    assert.match(await choice.textContent(), /and 1 file/);
    await page.getByTestId('drop-watch').click();
    await folderRow(page, '/home/me/Scans').waitFor();
    assert.equal(await page.getByRole('tab', { name: 'Watched folders' }).getAttribute('aria-selected'), 'true');
    const answers = await page.evaluate(() =>
      window.fake.calls.filter((c) => c.cmd === 'answer_drop').map((c) => c.args.choice),
    );
    assert.deepEqual(answers, ['upload_once', 'watch']);
    // Cancel (Esc) does nothing with the drop.
    await page.evaluate(() => window.fake.dropFolders(['/home/me/Other']));
    await choice.waitFor();
    await page.keyboard.press('Escape');
    await choice.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => window.fake.droppedPaths), null);
    assert.equal(await page.evaluate(() => window.fake.watched.size), 1);
    await context.close();
  });

  test('ignore patterns are edited in the settings, with the defaults shown and bad lines refused', async () => {
    const { page, context } = await open();
    await page.getByTestId('settings').click();
    const field = page.getByTestId('watch-ignore');
    await field.getByText('.DS_Store').waitFor();
    assert.match(await field.textContent(), /\.twakeignore/);
    await page.getByTestId('ignore-text').fill('*.log\n*.[z-a]\n');
    await page.getByTestId('ignore-save').click();
    assert.match(await page.getByTestId('ignore-error').textContent(), /\*\.\[z-a\]/);
    await page.getByTestId('ignore-text').fill('*.log\n\nbuild/\n');
    await page.getByTestId('ignore-save').click();
    await field.getByText('Saved and applied').waitFor();
    assert.deepEqual(await page.evaluate(() => window.fake.settings.watch_ignore), ['*.log', 'build/']);
    await context.close();
  });
});
