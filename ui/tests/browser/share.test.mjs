// "Copy link" on a finished Twake Drive file, in headless Chromium with the fake shell: the
// button appears once the file is done (and only for a target that makes links), the link
// the shell made lands on the clipboard, and a message says so in the window's language.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useHarness } from '../support.mjs';

const open = useHarness({ before, after });

/** Signs in to the fake Twake Drive and makes its My Drive the current target. */
async function twakeTarget(page) {
  await page.evaluate(() => {
    const t = window.fake.twake;
    t.signIn('https://drive.example.com', 'alice@example.com', 'correct horse battery staple');
    t.saved.push({ account: t.accounts[0].name, folder: '' });
    window.fake.defaultId = t.targetId(t.accounts[0].name, '');
  });
}

describe('share links', () => {
  test('Copy link on a done Twake Drive file puts its link on the clipboard', async () => {
    const { page, problems, context } = await open();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(page.url()).origin });
    await twakeTarget(page);
    await page.getByTestId('add-files').click();
    const row = page.locator('[role="row"]').first();
    await row.waitFor();
    const copy = row.getByRole('button', { name: /^Copy a share link to / });
    assert.equal(await copy.count(), 0, 'no link before the file is uploaded');

    await page.evaluate(() => window.fake.setState(1, { state: 'done' }));
    await copy.waitFor();
    await copy.click();
    await page.getByText(/^Link to .* copied: anyone with it can open the file/).waitFor();
    const link = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(link, 'https://drive.example.com/shared/1111111111111111111112/drive/111111111111111111111a/t/token1');
    const calls = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'share_link').map((c) => c.args));
    assert.deepEqual(calls, [{ id: 1 }]);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a local test server file has no Copy link; in French the button and message are French', async () => {
    const { page, context } = await open({ systemLanguage: 'fr' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(page.url()).origin });
    await page.getByTestId('add-files').click();
    await page.locator('[role="row"]').first().waitFor();
    await page.evaluate(() => window.fake.setState(1, { state: 'done' }));
    await page.locator('[role="row"][data-state="done"]').first().waitFor();
    assert.equal(await page.locator('[data-action="link"]').count(), 0, 'the local test server makes no links');

    await twakeTarget(page);
    await page.getByTestId('add-files').click();
    const rows = await page.locator('[role="row"]').count();
    const id = await page.evaluate(() => Math.max(...window.fake.uploads.keys()));
    await page.evaluate((id) => window.fake.setState(id, { state: 'done' }), id);
    const copy = page.getByRole('button', { name: /^Copier un lien de partage vers / });
    await copy.first().waitFor();
    assert.equal(await copy.count(), rows > 0 ? 1 : 0, 'only the done Twake Drive file');
    await copy.click();
    await page.getByText(/^Lien vers .* copié/).waitFor();
    assert.match(await page.evaluate(() => navigator.clipboard.readText()), /\/t\/token\d+$/);
    await context.close();
  });
});
