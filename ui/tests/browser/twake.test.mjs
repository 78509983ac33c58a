// Twake Drive in the UI, in headless Chromium with the fake shell: the sign-in dialog, an
// error in words, the folder chooser, the new target chosen, "Sign in again", "Sign out".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useHarness } from '../support.mjs';

const open = useHarness({ before, after });

async function openSignIn(page) {
  await page.getByTestId('target').selectOption({ label: 'Sign in to Twake Drive…' });
  await page.getByRole('dialog', { name: 'Sign in to Twake Drive' }).waitFor();
}

/** The first step: the address (or email) alone, then Continue. */
async function typeAddress(page, address) {
  await page.getByLabel('Server address or email').fill(address);
  await page.getByTestId('twake-continue').click();
}

/** Through the address step to the password form, filled. */
async function fill(page, { server, email, password }) {
  await typeAddress(page, server);
  await page.getByLabel('Password').waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
}

describe('twake drive', () => {
  test('sign in, browse to a folder with the keyboard, and it becomes the target', async () => {
    const { page, problems, context } = await open();
    await page.getByTestId('empty').waitFor();
    await openSignIn(page);
    // The menu still shows the current target: choosing "Sign in…" is not a target.
    assert.equal(await page.getByTestId('target').inputValue(), 'local');

    // A wrong password: the words, and the dialog stays for another try.
    await fill(page, { server: 'https://drive.example.com', email: 'alice@example.com', password: 'nope' });
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const error = page.getByTestId('twake-error');
    await error.waitFor();
    assert.match(await error.textContent(), /refused this email and password \(403\)\..*Check the email and the password/);
    assert.equal(await page.getByLabel('Password').getAttribute('type'), 'password');

    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByLabel('Password').press('Enter');
    const chooser = page.getByTestId('folder-chooser');
    await chooser.waitFor();
    await chooser.getByRole('button', { name: 'Open Reports' }).waitFor();
    const signIn = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'twake_sign_in').at(-1).args);
    assert.equal(signIn.password, 'correct horse battery staple', 'the password goes to the shell once');
    assert.deepEqual(
      await chooser.getByRole('list', { name: 'Folders in My Drive' }).getByRole('button').allTextContents(),
      ['📁 Photos', '📁 Reports'],
    );

    // Keyboard: focus "Reports", Enter opens it; its sub-folder shows with the crumbs.
    await chooser.getByRole('button', { name: 'Open Reports' }).focus();
    await page.keyboard.press('Enter');
    await chooser.getByRole('button', { name: 'Open 2026' }).waitFor();
    assert.equal(await chooser.locator('[aria-current="location"]').textContent(), 'Reports');
    await chooser.getByRole('button', { name: 'Upload to My Drive › Reports' }).click();

    await page.getByTestId('twake-dialog').waitFor({ state: 'detached' });
    const target = page.getByTestId('target');
    await page.waitForFunction(() => document.querySelector('[data-testid="target"]').value.startsWith('twake:'));
    assert.equal(await target.inputValue(), 'twake:alice@example.com@drive.example.com:/Reports');
    assert.equal(
      await target.locator('option:checked').textContent(),
      'Twake Drive — alice@example.com — My Drive › Reports',
    );
    // The menu is wide enough for the whole name (measured in its own font).
    const room = await target.evaluate((s) => {
      const cs = getComputedStyle(s);
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      const text = ctx.measureText(s.options[s.selectedIndex].text).width;
      return s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - text;
    });
    assert.ok(room >= 16, `the target menu cuts its name (${room.toFixed(0)} px left for the arrow)`);
    const chosen = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd.startsWith('twake_')).map((c) => c.cmd));
    assert.ok(!chosen.includes('twake_choose_company'), 'one company: no choice asked');

    // Files added now go there, and the queue names the target.
    await page.getByTestId('add-files').click();
    await page.locator('[role="row"]').first().waitFor();
    const sub = page.locator('[role="row"] .sub').first();
    assert.match(await sub.textContent(), /· to My Drive › Reports$/);
    assert.equal(await sub.locator('.to').getAttribute('title'), 'Twake Drive — alice@example.com — My Drive › Reports');
    assert.deepEqual(problems, []);
    assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
    await context.close();
  });

  test('a server that is not Twake Drive, and a malformed address, are told apart', async () => {
    const { page, context } = await open();
    await openSignIn(page);
    await typeAddress(page, 'https://www.example.com');
    await page.getByTestId('twake-error').filter({ hasText: 'is not a Twake Drive server' }).waitFor();
    assert.match(await page.getByTestId('twake-error').textContent(), /Use the address you open Twake Drive at in a browser/);
    assert.equal(await page.getByLabel('Password').count(), 0, 'no password is asked for a server that is not one');
    await typeAddress(page, 'drive example com');
    await page.getByTestId('twake-error').filter({ hasText: "'drive example com' is not a server address" }).waitFor();
    assert.match(await page.getByTestId('twake-error').textContent(), /like https:\/\/drive\.example\.com/);
    await context.close();
  });

  test('the address comes first, and an email fills in the form of its server', async () => {
    const { page, context } = await open();
    await openSignIn(page);
    assert.equal(await page.getByLabel('Password').count(), 0, 'only the address is asked first');
    await typeAddress(page, 'alice@drive.example.com');
    await page.getByLabel('Password').waitFor();
    assert.equal(await page.getByLabel('Server address').inputValue(), 'https://drive.example.com');
    assert.equal(await page.getByLabel('Email').inputValue(), 'alice@drive.example.com');
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'twake-password');
    const asked = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'twake_detect').map((c) => c.args.address));
    assert.deepEqual(asked, ['alice@drive.example.com'], 'the email goes to the shell as typed');
    await context.close();
  });

  test('a server behind its identity provider waits for the browser, and Cancel stops the wait', async () => {
    const { page, problems, context } = await open();
    await openSignIn(page);
    await typeAddress(page, 'sso-drive.example.com');
    const waiting = page.getByTestId('twake-browser');
    await waiting.waitFor();
    assert.match(await waiting.textContent(), /Continue in your browser.*Sign in to https:\/\/sso-drive\.example\.com on the page that opened/s);
    assert.match(await waiting.getByRole('status').textContent(), /Waiting for the sign-in in the browser/);
    assert.equal(await page.getByLabel('Password').count(), 0, 'no password is typed here');
    const started = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'twake_sign_in_browser').map((c) => c.args.server));
    assert.deepEqual(started, ['https://sso-drive.example.com']);

    // Cancel: the shell is told to stop listening, and the address is back with the keyboard.
    await waiting.getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('twake-error').filter({ hasText: 'The sign-in was cancelled.' }).waitFor();
    assert.equal(await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'twake_cancel_sign_in').length), 1);
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'twake-server');
    assert.ok(await page.getByTestId('twake-dialog').isVisible(), 'the dialog stays for another try');

    // Again, and this time the person finishes in the browser: on to the folders.
    await page.getByTestId('twake-continue').click();
    await waiting.waitFor();
    await page.evaluate(() => window.fake.twake.approveBrowser());
    await page.getByTestId('folder-chooser').getByRole('button', { name: 'Open Reports' }).waitFor();
    assert.match(await page.getByTestId('twake-dialog').textContent(), /Signed in as alice@example\.com on https:\/\/sso-drive\.example\.com/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('closing the dialog while it waits for the browser cancels that sign-in', async () => {
    const { page, context } = await open();
    await openSignIn(page);
    await typeAddress(page, 'https://sso-drive.example.com');
    await page.getByTestId('twake-browser').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('twake-dialog').waitFor({ state: 'detached' });
    await page.waitForFunction(() => window.fake.calls.some((c) => c.cmd === 'twake_cancel_sign_in'));
    assert.equal(await page.evaluate(() => window.fake.twake.waiting), null);
    await context.close();
  });

  test('the internal account id never shows, and a watched Drive folder reads from My Drive', async () => {
    const { page, context } = await open();
    await openSignIn(page);
    await fill(page, { server: 'https://drive.example.com', email: 'alice@example.com', password: 'correct horse battery staple' });
    await page.getByLabel('Password').press('Enter');
    await page.getByTestId('choose-folder').click();
    await page.getByTestId('twake-dialog').waitFor({ state: 'detached' });
    await page.evaluate(() => window.fake.setFolder('/home/me/Scans', { target: 'Twake Drive /Reports (alice@example.com@drive.example.com)' }));
    await page.getByRole('tab', { name: 'Watched folders' }).click();
    const row = page.locator('[data-testid="watched"][data-path="/home/me/Scans"]');
    await row.waitFor();
    assert.match(await row.locator('.sub').textContent(), /^to My Drive › Reports ·/);
    assert.equal(await row.locator('.to').getAttribute('title'), 'Twake Drive — alice@example.com — My Drive › Reports');
    assert.match(await page.getByTestId('watch-panel').locator('.note').first().textContent(), /go to Twake Drive — alice@example.com — My Drive\./);
    await page.getByTestId('settings').click();
    await page.getByTestId('settings-dialog').waitFor();
    const shown = await page.evaluate(() => document.body.innerText + [...document.querySelectorAll('[title], [aria-label]')].map((e) => `${e.title} ${e.getAttribute('aria-label')}`).join(' '));
    assert.doesNotMatch(shown, /alice@example\.com@drive/, 'the account id shows somewhere');
    assert.doesNotMatch(shown, /\/Drive\b/, 'the root has one name, My Drive');
    await context.close();
  });

  test('the folder chooser tells an empty folder from one with only files, with room around its list', async () => {
    const { page, context } = await open();
    await openSignIn(page);
    await fill(page, { server: 'https://drive.example.com', email: 'alice@example.com', password: 'correct horse battery staple' });
    await page.getByLabel('Password').press('Enter');
    const chooser = page.getByTestId('folder-chooser');
    await chooser.getByRole('button', { name: 'Open Photos' }).waitFor();
    const list = chooser.getByRole('list', { name: 'Folders in My Drive' });
    const pad = await list.evaluate((el) => ['paddingTop', 'paddingLeft'].map((k) => parseFloat(getComputedStyle(el)[k])));
    assert.ok(pad.every((p) => p >= 4), `the folder list has inner padding (${pad})`);
    // The chooser's step has the same margins inside the dialog as the sign-in form.
    const dialogBox = await page.getByTestId('twake-dialog').boundingBox();
    for (const part of [list, chooser.getByTestId('choose-folder'), page.getByRole('heading', { name: 'Where should files go?' })]) {
      const box = await part.boundingBox();
      assert.ok(box.x - dialogBox.x >= 16 && dialogBox.x + dialogBox.width - (box.x + box.width) >= 16, `${await part.textContent()} keeps 16 px from the dialog's sides`);
      assert.ok(box.y - dialogBox.y >= 16, 'and from its top');
    }
    await chooser.getByRole('button', { name: 'Open Photos' }).click();
    await chooser.getByTestId('no-folders').waitFor();
    assert.equal(await chooser.getByTestId('no-folders').textContent(), '3 files, no folders');
    await chooser.getByRole('button', { name: 'My Drive', exact: true }).click();
    await chooser.getByRole('button', { name: 'Open Reports' }).click();
    await chooser.getByRole('button', { name: 'Open 2026' }).click();
    await chooser.getByTestId('no-folders').filter({ hasText: 'No folders here' }).waitFor();
    assert.equal(await chooser.getByTestId('no-folders').textContent(), 'No folders here');
    await context.close();
  });

  test('without a keyring the dialog says which file keeps the session', async () => {
    const { page, context } = await open();
    await page.evaluate(() => {
      window.fake.twake.sessionFile = '/home/me/.config/twake-uploader/secrets.json';
    });
    await openSignIn(page);
    await fill(page, { server: 'https://drive.example.com', email: 'alice@example.com', password: 'correct horse battery staple' });
    await page.getByLabel('Password').press('Enter');
    const note = page.getByTestId('session-file');
    await note.waitFor();
    assert.match(await note.textContent(), /No keyring is available, so the session is kept in \/home\/me\/\.config\/twake-uploader\/secrets\.json, readable only by you\./);
    await context.close();
  });

  test('with a keyring nothing about files is said', async () => {
    const { page, context } = await open();
    await openSignIn(page);
    await fill(page, { server: 'https://drive.example.com', email: 'alice@example.com', password: 'correct horse battery staple' });
    await page.getByLabel('Password').press('Enter');
    await page.getByTestId('folder-chooser').getByRole('button', { name: 'Open Photos' }).waitFor();
    assert.equal(await page.getByTestId('session-file').count(), 0);
    await context.close();
  });

  test('"New folder…" creates a folder in place from the keyboard, and a taken name is refused in words', async () => {
    const { page, context } = await open();
    await openSignIn(page);
    await fill(page, { server: 'https://drive.example.com', email: 'alice@example.com', password: 'correct horse battery staple' });
    await page.getByLabel('Password').press('Enter');
    const chooser = page.getByTestId('folder-chooser');
    await chooser.getByRole('button', { name: 'Open Reports' }).click();
    await chooser.getByRole('button', { name: 'Open 2026' }).waitFor();
    await chooser.getByTestId('new-folder').click();
    const name = chooser.getByLabel('New folder in My Drive › Reports');
    await name.waitFor();
    // The keyboard moves on the next frame (focusSoon): wait for it, as a person's eyes would.
    const focused = (check) => page.waitForFunction(check, undefined, { timeout: 5_000 });
    await focused(() => document.activeElement?.dataset.testid === 'new-folder-name');
    // A name already there: refused, the field keeps the keyboard, nothing doubled.
    await name.fill('2026');
    await name.press('Enter');
    await chooser.getByRole('alert').filter({ hasText: 'There is already a folder 2026 in My Drive › Reports.' }).waitFor();
    await focused(() => document.activeElement?.dataset.testid === 'new-folder-name');
    assert.equal(await chooser.getByRole('button', { name: 'Open 2026' }).count(), 1);
    // A new name: created, listed at once, the keyboard on it; the dialog is still open.
    await name.fill('Q3');
    await name.press('Enter');
    const made = chooser.getByRole('button', { name: 'Open Q3' });
    await made.waitFor();
    await focused(() => document.activeElement?.getAttribute('aria-label') === 'Open Q3');
    await page.keyboard.press('Enter');
    await chooser.getByTestId('no-folders').filter({ hasText: 'No folders here' }).waitFor();
    assert.equal(await chooser.getByTestId('choose-folder').textContent().then((t) => t.trim()), 'Upload to My Drive › Reports › Q3');
    // Escape in the name field closes the field only.
    await chooser.getByTestId('new-folder').click();
    await chooser.getByTestId('new-folder-name').press('Escape');
    await chooser.getByTestId('new-folder').waitFor();
    assert.ok(await page.getByTestId('twake-dialog').isVisible(), 'the dialog stays open');
    await context.close();
  });

  test('the dialog keeps the keyboard: first field on open, the field to correct after a failure, the folders next', async () => {
    const { page, context } = await open();
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.textContent?.trim());
    const inDialog = () => page.evaluate(() => !!document.activeElement?.closest('[data-testid="twake-dialog"]'));
    await openSignIn(page);
    assert.equal(await focused(), 'twake-server', 'the first field has the keyboard');
    // Tab and Shift+Tab go round inside the dialog.
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      assert.ok(await inDialog(), `Tab ${i + 1} stays in the dialog`);
    }
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Shift+Tab');
      assert.ok(await inDialog(), `Shift+Tab ${i + 1} stays in the dialog`);
    }

    // A wrong password, sent with the button: the password is cleared and has the keyboard.
    await fill(page, { server: 'https://drive.example.com', email: 'alice@example.com', password: 'nope' });
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByTestId('twake-error').waitFor();
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'twake-password');
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password is cleared after a failure');
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Email').inputValue(), 'alice@example.com', 'the rest stays filled');

    // An unreachable server: the address is the field to correct.
    await page.getByLabel('Server address').fill('https://elsewhere.example.com');
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByLabel('Password').press('Enter');
    await page.getByTestId('twake-error').filter({ hasText: 'Cannot reach' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'twake-server');
    assert.equal(await page.getByLabel('Server address').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), null);

    // Signed in: the keyboard moves on to the folder list.
    await page.getByLabel('Server address').fill('https://drive.example.com');
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByLabel('Password').press('Enter');
    await page.getByTestId('folder-chooser').getByRole('button', { name: 'Open Photos' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Open Photos');
    // Escape closes the dialog, as Cancel does.
    await page.keyboard.press('Escape');
    await page.getByTestId('twake-dialog').waitFor({ state: 'detached' });
    await context.close();
  });

  test('server addresses are taken as people type or paste them', async () => {
    const { page, context } = await open();
    const sentServer = () => page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'twake_sign_in').at(-1)?.args.server);
    await openSignIn(page);
    // Copied from the browser's address bar: the origin is used.
    await fill(page, { server: 'https://drive.example.com/#/client/d1/v/folder', email: 'alice@example.com', password: 'nope' });
    await page.getByLabel('Password').press('Enter');
    await page.getByTestId('twake-error').waitFor();
    assert.equal(await sentServer(), 'https://drive.example.com');
    assert.equal(await page.getByLabel('Server address').inputValue(), 'https://drive.example.com', 'the field shows what was used');
    // Without a scheme: tried as https.
    await page.getByLabel('Server address').fill('drive.example.com');
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByLabel('Password').press('Enter');
    await page.getByTestId('folder-chooser').waitFor();
    assert.equal(await sentServer(), 'https://drive.example.com');
    await context.close();
  });

  test('an address that cannot be one is told in words, without asking the shell', async () => {
    const { page, context } = await open();
    await openSignIn(page);
    await typeAddress(page, 'drive example com');
    const error = page.getByTestId('twake-error');
    await error.waitFor();
    assert.match(await error.textContent(), /'drive example com' is not a server address/);
    assert.doesNotMatch(await error.textContent(), /relative URL|without a base/);
    assert.equal(await page.evaluate(() => window.fake.calls.filter((c) => c.cmd.startsWith('twake_')).length), 0);
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'twake-server');
    // Corrected in the password form: what was not sent there is kept.
    await fill(page, { server: 'drive.example.com', email: 'alice@example.com', password: 'x' });
    await page.getByLabel('Server address').fill('drive example com');
    await page.getByLabel('Password').press('Enter');
    await error.filter({ hasText: "'drive example com' is not a server address" }).waitFor();
    assert.equal(await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'twake_sign_in').length), 0);
    assert.equal(await page.getByLabel('Password').inputValue(), 'x', 'a password that was not sent is kept');
    await context.close();
  });

  test('several companies ask which one before the folders', async () => {
    const { page, context } = await open();
    await page.evaluate(() => {
      window.fake.twake.companies = [{ id: 'c1', name: 'Acme' }, { id: 'c2', name: 'Beta' }];
    });
    await openSignIn(page);
    await fill(page, { server: 'https://drive.example.com', email: 'alice@example.com', password: 'correct horse battery staple' });
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('radiogroup', { name: 'Company' }).waitFor();
    // The keyboard moves on to the choice: the company already chosen.
    await page.waitForFunction(() => document.activeElement?.closest('label')?.textContent.trim() === 'Acme');
    await page.getByLabel('Beta').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByTestId('folder-chooser').waitFor();
    const call = await page.evaluate(() => window.fake.calls.find((c) => c.cmd === 'twake_choose_company').args);
    assert.equal(call.companyId, 'c2');
    await context.close();
  });

  test('a signed-out account offers "Sign in again", and Settings signs out', async () => {
    const { page, context } = await open();
    await page.evaluate(() => {
      const t = window.fake.twake;
      t.signIn('https://drive.example.com', 'alice@example.com', 'correct horse battery staple');
      t.saved.push({ account: t.accounts[0].name, folder: '' });
      window.fake.defaultId = t.targetId(t.accounts[0].name, '');
    });
    await page.getByTestId('add-files').click();
    await page.locator('[role="row"]').first().waitFor();
    assert.equal(await page.getByTestId('sign-in-again').count(), 0);
    // The session's renewal is refused: the engine stops the files and marks the account.
    await page.evaluate(() => {
      window.fake.twake.accounts[0].signed_out = 'the refresh token was refused';
      const reason = 'signed out of https://drive.example.com as alice@example.com (the refresh token was refused): sign in again; the queued uploads are kept and continue after that';
      return window.fake.setState(1, { state: 'failed', kind: 'signed_out', reason, retryable: false });
    });
    await page.getByTestId('sign-in-again').click();
    await page.getByRole('dialog', { name: 'Sign in to Twake Drive' }).waitFor();
    assert.equal(await page.getByLabel('Server address').inputValue(), 'https://drive.example.com');
    assert.equal(await page.getByLabel('Email').inputValue(), 'alice@example.com');
    // Filled in: the keyboard is on the one field left, the password.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'twake-password');
    await page.getByTestId('twake-dialog').getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('twake-dialog').waitFor({ state: 'detached' });
    assert.equal(await page.getByTestId('sign-in-again').count(), 1, 'cancelled: still signed out');

    // Signing in again clears the mark even when the folder chooser is left with Cancel.
    await page.getByTestId('sign-in-again').click();
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByTestId('folder-chooser').waitFor();
    await page.getByTestId('twake-dialog').getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('sign-in-again').waitFor({ state: 'detached' });

    await page.getByTestId('settings').click();
    await page.getByRole('button', { name: 'Sign out of Twake Drive — alice@example.com — My Drive' }).click();
    await page.getByTestId('twake-sign-out').waitFor({ state: 'detached' });
    assert.equal(await page.getByTestId('target').inputValue(), 'local');
    await context.close();
  });
});
