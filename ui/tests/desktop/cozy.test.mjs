// The real desktop app signs in to Twake Drive on cozy-stack (the cozy-stack double, a real
// server with its own storage) through the browser flow: the address typed in the dialog, the
// instance's authorize page approved in headless Chromium (the app's "open the browser" hook
// points at tests/oidc/browser.mjs), the folder chooser on the instance with a new folder made
// there, then a folder handed over by a second launch, as a file manager does, arrives in it
// byte for byte.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { REPO_DIR } from '../support.mjs';
import { startCozyDouble, startSessionBus, startTauriDriver, startXvfb } from './processes.mjs';
import { Session } from './webdriver.mjs';

const TARGET_DIR = process.env.CARGO_TARGET_DIR ?? path.join(REPO_DIR, 'target');
const APP_BIN = process.env.APP_BIN ?? path.join(TARGET_DIR, 'debug/twake-uploader');
const COZY_BIN = process.env.COZY_DOUBLE_BIN ?? path.join(TARGET_DIR, 'debug/cozy-double');
const SHOTS = process.env.SCREENSHOT_DIR ?? path.join(TARGET_DIR, 'app-e2e');
const IDENTIFIER = 'com.linagora.twake-uploader';
const PASSPHRASE = 'a passphrase typed in the browser';
const ENTER = '\uE007';

const stops = [];
let work;

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'twake-app-cozy-'));
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  for (const stop of stops.reverse()) await stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const sha256 = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');

test('signs in to Twake Drive on cozy-stack through the browser, makes a folder there and uploads a handed-over folder into it', { timeout: 180_000 }, async () => {
  for (const [what, p] of [['the app', APP_BIN], ['the cozy-stack double', COZY_BIN]]) {
    assert.ok(fs.existsSync(p), `${what} is not built at ${p}: run make build`);
  }
  const cozy = await startCozyDouble(COZY_BIN, PASSPHRASE);
  stops.push(cozy.stop);
  const xvfb = await startXvfb();
  stops.push(xvfb.stop);
  const bus = await startSessionBus();
  stops.push(bus.stop);
  const config = path.join(work, 'config');
  fs.mkdirSync(path.join(config, IDENTIFIER), { recursive: true });
  fs.writeFileSync(
    path.join(config, IDENTIFIER, 'settings.json'),
    JSON.stringify({ close_to_tray: false, notifications: false }),
  );
  const browserLog = path.join(work, 'browser.log');
  const env = {
    DISPLAY: xvfb.display,
    DBUS_SESSION_BUS_ADDRESS: bus.address,
    XDG_CONFIG_HOME: config,
    XDG_DATA_HOME: path.join(work, 'data'),
    GDK_BACKEND: 'x11',
    LC_ALL: '',
    LC_MESSAGES: '',
    LANG: 'C.UTF-8',
    // The person's browser: headless Chromium typing the passphrase on the instance's page.
    TWAKE_UPLOADER_BROWSER: path.join(REPO_DIR, 'tests/oidc/browser.mjs'),
    TWAKE_TEST_PASSWORD: PASSPHRASE,
    TWAKE_TEST_BROWSER_LOG: browserLog,
  };
  const driver = await startTauriDriver(env);
  stops.push(driver.stop);
  const session = await Session.start(driver.base, APP_BIN, []);
  stops.push(() => session.close());
  await session.until('the window ready', `return document.body.dataset.ready === 'true';`);

  // Only the address is asked: the app finds a cozy-stack there and sends the person to the
  // browser, showing that it waits.
  await session.run(`const s = document.querySelector('[data-testid="target"]');
    s.value = '__twake__';
    s.dispatchEvent(new Event('change', { bubbles: true }));`);
  await session.until('the sign-in dialog', `return !!document.querySelector('[data-testid="twake-dialog"][open]');`, 5_000);
  await session.type('[data-testid="twake-server"]', `${cozy.url}${ENTER}`);
  const chooser = await session.until(
    'the folder chooser on the instance',
    `const c = document.querySelector('[data-testid="folder-chooser"]');
     const note = document.querySelector('[data-testid="twake-dialog"] .step .note')?.textContent ?? '';
     return c && document.querySelector('[data-testid="no-folders"]') ? { note, password: !!document.querySelector('[data-testid="twake-password"]') } : false;`,
    60_000,
  );
  assert.equal(chooser.password, false, 'no password field: the instance signs in in the browser');
  assert.equal(chooser.note.trim(), `Signed in to ${cozy.url}. Open a folder, then choose it.`);
  const pages = fs.readFileSync(browserLog, 'utf8');
  assert.match(pages, /\/auth\/authorize\n/, 'the browser showed the instance\'s authorize page');
  assert.match(pages, /127\.0\.0\.1:\d+\/callback\n/, 'the browser came back to the app\'s loopback listener');
  // The trash folder of the instance is not a place to upload to.
  assert.equal(await session.run(`return document.querySelectorAll('[data-testid="folder-chooser"] .folder').length;`), 0);

  // A new folder made in place, by keyboard, then opened and chosen. The name of a file
  // another device put there is refused first, saying it is a file's.
  await cozy.put('/notes.txt', 'minutes');
  await session.click('[data-testid="new-folder"]');
  await session.until('the name field has the keyboard', `return document.activeElement?.getAttribute('data-testid') === 'new-folder-name';`, 5_000);
  await session.type('[data-testid="new-folder-name"]', `notes.txt${ENTER}`);
  const refused = await session.until(
    'the taken name refused',
    `const e = document.getElementById('new-folder-error');
     return e ? { text: e.textContent, focus: document.activeElement?.getAttribute('data-testid') } : false;`,
    10_000,
  );
  assert.equal(refused.text.trim(), 'There is already a file notes.txt in My Drive. Choose another name for the folder.');
  assert.equal(refused.focus, 'new-folder-name', 'the keyboard stays in the name field');
  await session.run(`const i = document.querySelector('[data-testid="new-folder-name"]');
    i.value = '';
    i.dispatchEvent(new Event('input', { bubbles: true }));`);
  await session.type('[data-testid="new-folder-name"]', `Téléversements${ENTER}`);
  await session.until('the new folder listed', `return !!document.querySelector('[data-testid="folder-chooser"] .folder[data-name="Téléversements"]');`, 10_000);
  fs.writeFileSync(path.join(SHOTS, 'cozy-folder-chooser.png'), await session.screenshot());
  await session.click('[data-testid="folder-chooser"] .folder[data-name="Téléversements"]');
  await session.until('inside the new folder', `return document.querySelector('[aria-current="location"]')?.textContent === 'Téléversements';`, 10_000);
  await session.click('[data-testid="choose-folder"]');
  await session.until('the dialog closed', `return !document.querySelector('[data-testid="twake-dialog"]');`, 10_000);
  const target = await session.run(`const s = document.querySelector('[data-testid="target"]');
    return s.options[s.selectedIndex].textContent;`);
  const host = new URL(cozy.url).host;
  assert.equal(target.trim(), `Twake Drive — ${host} — My Drive › Téléversements`);
  assert.ok((await cozy.tree()).some((n) => n.path === '/Téléversements' && n.dir), 'the folder was made on the instance');

  // A folder handed over by a second launch, as "Open with" does, goes to the chosen folder.
  const album = path.join(work, 'src/Vacances été');
  const files = [
    ['photo 1.jpg', crypto.randomBytes(700_000)],
    ['photo 2.jpg', crypto.randomBytes(1_300_000 + 3)],
    ['notes/liste.txt', Buffer.from('crème, pain, café\n')],
    ['vide.txt', Buffer.alloc(0)],
  ];
  for (const [rel, bytes] of files) {
    fs.mkdirSync(path.dirname(path.join(album, rel)), { recursive: true });
    fs.writeFileSync(path.join(album, rel), bytes);
  }
  const launch = spawn(APP_BIN, [album], { env: { ...process.env, ...env }, stdio: 'ignore' });
  assert.equal(await new Promise((resolve) => launch.once('exit', resolve)), 0, 'the second launch should hand over and exit');
  await session.until('four rows drawn', `return document.querySelectorAll('[role="row"]').length === 4;`, 20_000);
  await session.until(
    'every file uploaded',
    `return [...document.querySelectorAll('[role="row"] [data-testid="state"]')].every((e) => e.textContent === 'Uploaded');`,
    60_000,
  );
  const tree = await cozy.tree();
  for (const [rel] of files) {
    const node = tree.find((n) => n.path === `/Téléversements/Vacances été/${rel}`);
    assert.ok(node, `${rel} is on the instance (${JSON.stringify(tree.map((n) => n.path))})`);
    assert.equal(node.sha256, sha256(path.join(album, rel)), `${rel} arrived different`);
  }
  const uploaded = tree.filter((n) => !n.dir && n.path.startsWith('/Téléversements/'));
  assert.equal(uploaded.length, files.length, 'nothing was uploaded twice');
});
