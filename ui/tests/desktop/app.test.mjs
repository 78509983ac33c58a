// The real desktop app (WebKitGTK under a private Xvfb, driven by tauri-driver) against the
// real receiver: files given on the command line upload, a pause and a resume from the UI
// hold and release a file, and everything arrives byte for byte. The first app runs in an
// English locale; a later test starts another with LANG=fr_FR.UTF-8 and reads French, and the
// last one fakes a laptop on battery (NetworkManager and UPower on the app's own bus).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { REPO_DIR } from '../support.mjs';
import { spawn } from 'node:child_process';
import { freePort, startFakePower, startReceiver, startSessionBus, startSlowProxy, startTauriDriver, startXvfb } from './processes.mjs';
import { Session } from './webdriver.mjs';

const TARGET_DIR = process.env.CARGO_TARGET_DIR ?? path.join(REPO_DIR, 'target');
const APP_BIN = process.env.APP_BIN ?? path.join(TARGET_DIR, 'debug/twake-uploader');
const RECEIVER_BIN = process.env.RECEIVER_BIN ?? path.join(TARGET_DIR, 'debug/twake-upload');
const FAKE_POWER_BIN = process.env.FAKE_POWER_BIN ?? path.join(TARGET_DIR, 'debug/fake-power');
const SHOTS = process.env.SCREENSHOT_DIR ?? path.join(TARGET_DIR, 'app-e2e');
const IDENTIFIER = 'com.linagora.twake-uploader';

const stops = [];
let work;
let session;
/** What the first test starts and the French run uses again. */
let shared;

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'twake-app-e2e-'));
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await session?.close();
  for (const stop of stops.reverse()) await stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function file(rel, bytes) {
  const p = path.join(work, 'src', rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, bytes);
  return p;
}

/** The locale variables the app reads its language from (LC_ALL, LC_MESSAGES, LANG). */
const ENGLISH = { LC_ALL: '', LC_MESSAGES: '', LANG: 'C.UTF-8' };
const FRENCH = { LC_ALL: '', LC_MESSAGES: '', LANG: 'fr_FR.UTF-8' };

/**
 * What one app runs with: its settings (slow uploads through `proxy`, no notifications), its
 * own session bus, the display, the locale variables `locale`, and its folders named `name`.
 */
async function appEnvironment(name, proxy, xvfb, locale) {
  const config = path.join(work, `config-${name}`);
  fs.mkdirSync(path.join(config, IDENTIFIER), { recursive: true });
  fs.writeFileSync(
    path.join(config, IDENTIFIER, 'settings.json'),
    JSON.stringify({
      chunk_size: 256 * 1024,
      parallel_chunks: 1,
      parallel_files: 1,
      close_to_tray: false,
      notifications: false,
      default_target: `resumable:${proxy.url}`,
      saved_targets: [{ kind: 'resumable', url: proxy.url, dialect: 'resumable' }],
    }),
  );
  const bus = await startSessionBus();
  stops.push(bus.stop);
  return {
    DISPLAY: xvfb.display,
    DBUS_SESSION_BUS_ADDRESS: bus.address,
    // NetworkManager and UPower are read from this bus: nothing serves them there unless a
    // test starts fake-power on it, and the machine's own stay out of the tests.
    TWAKE_UPLOADER_SYSTEM_BUS: bus.address,
    XDG_CONFIG_HOME: config,
    XDG_DATA_HOME: path.join(work, `data-${name}`),
    GDK_BACKEND: 'x11',
    ...locale,
  };
}

const rowSelector = (name) => `[role="row"][aria-label^="${name},"]`;
// Expressions evaluated in the window.
const stateExpr = (name) => `document.querySelector('${rowSelector(name)} [data-testid="state"]')?.textContent`;
const pctExpr = (name) =>
  `Number(document.querySelector('${rowSelector(name)} [role="progressbar"]')?.getAttribute('aria-valuenow') ?? -1)`;

test('files from the command line upload; pause and resume from the UI hold and release one; second launches hand their files over and every one is drawn', { timeout: 240_000 }, async () => {
  for (const [what, p] of [['the app', APP_BIN], ['the receiver CLI', RECEIVER_BIN]]) {
    assert.ok(fs.existsSync(p), `${what} is not built at ${p}: run make app-build`);
  }
  const big = file('big.bin', crypto.randomBytes(6 * 1024 * 1024));
  const song = file('music/song.flac', crypto.randomBytes(8 * 1024 * 1024 + 17));
  file('music/cover.jpg', crypto.randomBytes(200_000));
  const note = file('note.txt', 'hello from the desktop test\n');

  const received = path.join(work, 'received');
  const receiver = await startReceiver(RECEIVER_BIN, received);
  stops.push(receiver.stop);
  // 120 ms per request: each 256 KiB chunk takes a quarter second, long enough to pause.
  const proxy = await startSlowProxy(receiver.url, 120);
  stops.push(proxy.stop);

  const xvfb = await startXvfb();
  stops.push(xvfb.stop);
  shared = { xvfb, proxy, received };
  // English whatever the machine's locale: the assertions read English words.
  const appEnv = await appEnvironment('en', proxy, xvfb, ENGLISH);
  const driver = await startTauriDriver(appEnv);
  stops.push(driver.stop);

  session = await Session.start(driver.base, APP_BIN, [big, path.dirname(song), note]);
  await session.until('the four files in the queue', `return document.querySelectorAll('[role="row"]').length === 4;`);
  const names = await session.run(`return [...document.querySelectorAll('[role="row"] .title')].map((e) => e.textContent);`);
  assert.deepEqual(names, ['big.bin', 'cover.jpg', 'song.flac', 'note.txt']);

  await session.until('big.bin uploading', `const p = ${pctExpr('big.bin')}; return p >= 25 && p < 70;`);
  await session.click(`${rowSelector('big.bin')} button[data-action="pause"]`);
  await session.until('big.bin paused', `return ${stateExpr('big.bin')} === 'Paused';`, 5_000);

  // Paused means paused: after the request in flight ends, no chunk of big.bin is sent.
  await new Promise((r) => setTimeout(r, 600));
  const postsAtPause = proxy.posts('big.bin');
  const pctAtPause = await session.run(`return ${pctExpr('big.bin')};`);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(proxy.posts('big.bin'), postsAtPause, 'chunks were sent while paused');
  assert.equal(await session.run(`return ${pctExpr('big.bin')};`), pctAtPause);
  assert.ok(pctAtPause > 0 && pctAtPause < 100, `paused at ${pctAtPause} %`);

  // Screenshots for the docs: the queue mid-way, then big.bin's chunk map.
  await session.until('song.flac uploading', `const p = ${pctExpr('song.flac')}; return p >= 20 && p < 90;`, 20_000);
  fs.writeFileSync(path.join(SHOTS, 'queue.png'), await session.screenshot());
  await session.click(`${rowSelector('big.bin')} .name`);
  await session.until('the chunk map', `return !!document.querySelector('[data-testid="chunk-map"]');`);
  await new Promise((r) => setTimeout(r, 300));
  fs.writeFileSync(path.join(SHOTS, 'chunk-map.png'), await session.screenshot());

  await session.click(`${rowSelector('big.bin')} button[data-action="resume"]`);
  await session.until(
    'every file uploaded',
    `return [...document.querySelectorAll('[role="row"] [data-testid="state"]')].every((e) => e.textContent === 'Uploaded');`,
    120_000,
  );
  assert.ok(proxy.posts('big.bin') > postsAtPause, 'big.bin resumed');
  await session.until('the totals to say all four', `return document.querySelector('[data-testid="totals"]').textContent.startsWith('4 of 4 files');`, 5_000);

  // A second launch hands its file to the running window and exits.
  const extra = file('extra.txt', 'handed over by a second launch\n');
  const second = spawn(APP_BIN, [extra], { env: { ...process.env, ...appEnv }, stdio: 'ignore' });
  const exitCode = await new Promise((resolve) => second.once('exit', resolve));
  assert.equal(exitCode, 0, 'the second launch should hand over and exit');
  await session.until('extra.txt uploaded', `return ${stateExpr('extra.txt')} === 'Uploaded';`, 20_000);

  // More hand-overs to a queue that already holds files, as a file manager makes them (2, then
  // 3, then 2 files): every file is drawn, and the rows, the tab, the list's name and the
  // totals agree after each one. The chunk map is closed so the list has the window's height.
  await session.click('button[aria-label="Close the chunk map"]');
  const handed = [];
  let expected = 5;
  for (const names of [['h1.txt', 'h2.txt'], ['h3.txt', 'h4.txt', 'h5.txt'], ['h6.txt', 'h7.txt']]) {
    const paths = names.map((n) => file(`handed/${n}`, `handed over by a second launch: ${n}\n`));
    handed.push(...names.map((n, i) => [n, paths[i]]));
    const launch = spawn(APP_BIN, paths, { env: { ...process.env, ...appEnv }, stdio: 'ignore' });
    assert.equal(await new Promise((resolve) => launch.once('exit', resolve)), 0, `the launch with ${names} should hand over and exit`);
    expected += names.length;
    await session.until(`${expected} rows drawn`, `return document.querySelectorAll('[role="row"]').length === ${expected};`, 20_000);
    const seen = await session.run(`return {
      tab: document.querySelector('#tab-all').textContent.trim(),
      label: document.querySelector('[data-testid="queue"]').getAttribute('aria-label'),
      rowcount: document.querySelector('[data-testid="queue"]').getAttribute('aria-rowcount'),
      totals: document.querySelector('[data-testid="totals"]').textContent,
      titles: [...document.querySelectorAll('[role="row"] .title')].map((e) => e.textContent),
    };`);
    assert.equal(seen.tab.replace(/\s+/g, ' '), `All ${expected}`);
    assert.equal(seen.label, `Upload queue, ${expected} files`);
    assert.equal(seen.rowcount, String(expected));
    assert.match(seen.totals, new RegExp(`^\\d+ of ${expected} files`));
    for (const n of names) assert.ok(seen.titles.includes(n), `${n} is drawn (${seen.titles})`);
  }
  await session.until(
    'every handed-over file uploaded',
    `return [...document.querySelectorAll('[role="row"] [data-testid="state"]')].every((e) => e.textContent === 'Uploaded');`,
    60_000,
  );
  await session.until('the totals to count them all', `return document.querySelector('[data-testid="totals"]').textContent.startsWith('${expected} of ${expected} files');`, 5_000);

  for (const [rel, src] of [
    ...handed,
    ['extra.txt', extra],
    ['big.bin', big],
    ['music/song.flac', song],
    ['music/cover.jpg', path.join(work, 'src/music/cover.jpg')],
    ['note.txt', note],
  ]) {
    const got = fs.readFileSync(path.join(received, rel));
    assert.ok(got.equals(fs.readFileSync(src)), `${rel} arrived different`);
  }
});

test('a failed Twake Drive sign-in keeps the keyboard in the dialog, on the field to correct', { timeout: 60_000 }, async () => {
  assert.ok(session, 'the app started by the test above is needed');
  const ENTER = '\uE007';
  const ESCAPE = '\uE00C';
  const active = () => session.run(`return document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName;`);
  await session.run(`const s = document.querySelector('[data-testid="target"]');
    s.value = '__twake__';
    s.dispatchEvent(new Event('change', { bubbles: true }));`);
  await session.until('the sign-in dialog', `return !!document.querySelector('[data-testid="twake-dialog"][open]');`, 5_000);
  assert.equal(await active(), 'twake-server', 'the first field has the keyboard on open');
  // Nothing listens on this port: the server cannot be reached, so it cannot say how it signs
  // people in, and the address stays the field to correct.
  await session.type('[data-testid="twake-server"]', `127.0.0.1:${await freePort()}${ENTER}`);
  await session.until('the sign-in error', `return document.querySelector('[data-testid="twake-error"]')?.textContent;`, 20_000);
  const after = await session.run(`return {
    error: document.querySelector('[data-testid="twake-error"]').textContent,
    server: document.querySelector('[data-testid="twake-server"]').value,
    password: !!document.querySelector('[data-testid="twake-password"]'),
    invalid: document.querySelector('[data-testid="twake-server"]').getAttribute('aria-invalid'),
  };`);
  assert.doesNotMatch(after.error, /relative URL|without a base|invalid args/);
  assert.match(after.error, /Cannot reach/);
  assert.match(after.server, /^https:\/\/127\.0\.0\.1:\d+$/, 'an address without a scheme is tried as https');
  assert.equal(after.password, false, 'no password is asked before the server says how it signs in');
  assert.equal(after.invalid, 'true');
  await session.until('the keyboard on the server address', `return document.activeElement?.getAttribute('data-testid') === 'twake-server';`, 5_000);
  // Escape closes the dialog.
  await session.type('[data-testid="twake-server"]', ESCAPE);
  await session.until('the dialog closed', `return !document.querySelector('[data-testid="twake-dialog"]');`, 5_000);
});

test('started with LANG=fr_FR.UTF-8, the app speaks French: texts, sizes, states and totals', { timeout: 120_000 }, async () => {
  assert.ok(shared, 'the receiver and display started by the first test are needed');
  // One app at a time: the English one quits first, and the French one has its own bus,
  // settings and queue.
  await session.close();
  session = undefined;
  const { xvfb, proxy, received } = shared;
  const rapport = file('fr/rapport.pdf', crypto.randomBytes(5 * 1024 * 1024));
  const photo = file('fr/vacances/photo.jpg', crypto.randomBytes(3 * 1024 * 1024 + 5));
  const driver = await startTauriDriver(await appEnvironment('fr', proxy, xvfb, FRENCH));
  stops.push(driver.stop);
  session = await Session.start(driver.base, APP_BIN, [rapport, path.dirname(photo)]);
  await session.until('the two files in the queue', `return document.querySelectorAll('[role="row"]').length === 2;`);
  await session.until('the French window', `return document.documentElement.lang === 'fr';`, 10_000);
  const words = await session.run(`return {
    add: document.querySelector('[data-testid="add-files"]').textContent,
    pause: document.querySelector('[data-testid="pause-all"]').textContent,
    tab: document.querySelector('#tab-all').textContent.trim().replace(/\\s+/g, ' '),
    label: document.querySelector('[data-testid="queue"]').getAttribute('aria-label'),
  };`);
  assert.deepEqual(words, {
    add: 'Ajouter des fichiers…',
    pause: 'Tout en pause',
    tab: 'Tous 2',
    label: 'File d’envoi, 2\u00a0fichiers',
  });
  // Mid-upload: French sizes and time left, then the screenshot the docs show.
  await session.until(
    'rapport.pdf uploading, in French',
    `const p = ${pctExpr('rapport.pdf')};
     const d = document.querySelector('${rowSelector('rapport.pdf')} [data-testid="detail"]')?.textContent ?? '';
     return p >= 20 && p < 80 && / sur 5,0\u00a0Mio/.test(d) && d.includes('encore') ? d : false;`,
    30_000,
  );
  assert.equal(await session.run(`return ${stateExpr('rapport.pdf')};`), 'Envoi en cours');
  assert.equal(await session.run(`return ${stateExpr('photo.jpg')};`), 'En attente');
  fs.writeFileSync(path.join(SHOTS, 'french.png'), await session.screenshot());
  await session.until(
    'both files uploaded',
    `return [...document.querySelectorAll('[role="row"] [data-testid="state"]')].every((e) => e.textContent === 'Envoyé');`,
    60_000,
  );
  await session.until('the French totals', `return document.querySelector('[data-testid="totals"]').textContent.startsWith('2 sur 2\u00a0fichiers');`, 5_000);
  for (const [rel, src] of [['rapport.pdf', rapport], ['vacances/photo.jpg', photo]]) {
    assert.ok(fs.readFileSync(path.join(received, rel)).equals(fs.readFileSync(src)), `${rel} arrived different`);
  }
});

test('after a restart, the History tab still lists the files uploaded before, after "Clear finished" too', { timeout: 120_000 }, async () => {
  assert.ok(shared, 'the receiver and display started by the first test are needed');
  await session.close();
  session = undefined;
  const { xvfb, proxy } = shared;
  // The English app again, on its own queue: a restart of the one the first test drove.
  const driver = await startTauriDriver(await appEnvironment('en', proxy, xvfb, ENGLISH));
  stops.push(driver.stop);
  session = await Session.start(driver.base, APP_BIN, []);
  // Finished uploads are not brought back into the queue's list; Clear finished forgets
  // them in the queue database too. The history keeps them.
  await session.until('the window ready', `return document.body.dataset.ready === 'true';`);
  await session.click('[data-testid="clear-finished"]');
  assert.equal(await session.run(`return document.querySelectorAll('[role="row"]').length;`), 0);
  await session.click('#tab-history');
  await session.until('the history', `return document.querySelectorAll('[data-testid="history-line"]').length >= 12;`, 10_000);
  const lines = await session.run(`return [...document.querySelectorAll('[data-testid="history-line"]')].map((l) => ({
    name: l.dataset.name,
    result: l.querySelector('[data-testid="history-result"]').textContent,
  }));`);
  for (const name of ['big.bin', 'song.flac', 'cover.jpg', 'note.txt', 'extra.txt', 'h7.txt']) {
    assert.deepEqual(lines.find((l) => l.name === name), { name, result: 'Uploaded' }, `${name} in ${JSON.stringify(lines)}`);
  }
  assert.match(await session.run(`return document.querySelector('[data-testid="history-count"]').textContent;`), /^1[2-9] files in the history$/);
  // Searched, for the docs' screenshot: only the music folder's files.
  await session.type('[data-testid="history-search"]', 'music');
  await session.until(
    'the search applied',
    `const names = [...document.querySelectorAll('[data-testid="history-line"]')].map((l) => l.dataset.name).sort();
     return names.join() === 'cover.jpg,song.flac';`,
    10_000,
  );
  fs.writeFileSync(path.join(SHOTS, 'history.png'), await session.screenshot());
});

test('on battery the upload waits and the window says why; back on mains power it finishes by itself', { timeout: 90_000 }, async () => {
  assert.ok(shared, 'the receiver and display started by the first test are needed');
  assert.ok(fs.existsSync(FAKE_POWER_BIN), `fake-power is not built at ${FAKE_POWER_BIN}: run make app-build`);
  await session.close();
  session = undefined;
  const { xvfb, proxy, received } = shared;
  const env = await appEnvironment('power', proxy, xvfb, ENGLISH);
  const power = await startFakePower(FAKE_POWER_BIN, env.TWAKE_UPLOADER_SYSTEM_BUS);
  stops.push(power.stop);
  const movie = file('power/movie.mkv', crypto.randomBytes(5 * 1024 * 1024));
  const driver = await startTauriDriver(env);
  stops.push(driver.stop);
  session = await Session.start(driver.base, APP_BIN, [movie]);
  await session.until('movie.mkv uploading', `const p = ${pctExpr('movie.mkv')}; return p >= 10 && p < 60;`, 30_000);

  await power.send('battery on');
  await session.until('the reason on the totals line', `return document.querySelector('[data-testid="held"]')?.textContent === 'Paused: on battery';`, 10_000);
  assert.equal(await session.run(`return ${stateExpr('movie.mkv')};`), 'Waiting', 'waiting, not paused by the person');
  // Held means nothing is sent: after the request in flight was stopped, no chunk goes.
  await new Promise((r) => setTimeout(r, 600));
  const posts = proxy.posts('movie.mkv');
  const pct = await session.run(`return ${pctExpr('movie.mkv')};`);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(proxy.posts('movie.mkv'), posts, 'chunks were sent on battery');
  assert.equal(await session.run(`return ${pctExpr('movie.mkv')};`), pct, 'no progress on battery');
  fs.writeFileSync(path.join(SHOTS, 'on-battery.png'), await session.screenshot());

  await power.send('battery off');
  await session.until('the reason gone', `return !document.querySelector('[data-testid="held"]');`, 10_000);
  await session.until('movie.mkv uploaded', `return ${stateExpr('movie.mkv')} === 'Uploaded';`, 40_000);
  assert.ok(fs.readFileSync(path.join(received, 'movie.mkv')).equals(fs.readFileSync(movie)), 'movie.mkv arrived different');
});
