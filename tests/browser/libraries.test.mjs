// The real browser libraries (npm resumablejs 1.1.0 and @flowjs/flow.js 2.14.1), in real
// headless Chromium, against our strict receiver (`twake-upload serve --cors`). The page
// is served from another origin than the receiver, so CORS is really exercised.
//
// Run: tests/browser/run.sh   (or: node --test tests/browser/*.test.mjs)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  expectedFiles,
  filesOnDisk,
  launchChromium,
  load,
  openPage,
  settledStats,
  startPageServer,
  startReceiver,
} from './harness.mjs';

const TEST_TIMEOUT_MS = 60000;
const CS = 64 * 1024; // the chunkSize the page gives both libraries

/** Sizes around the chunk boundaries, a many-chunk file, a Unicode name and a folder. */
const SPECS = [
  { name: 'one.bin', size: 1 },
  { name: 'chunk-minus-1.bin', size: CS - 1 },
  { name: 'chunk.bin', size: CS },
  { name: 'chunk-plus-1.bin', size: CS + 1 },
  { name: 'two-chunks-plus-123.bin', size: 2 * CS + 123 },
  { name: 'many-chunks.bin', size: 3 * 1024 * 1024 + 4321, type: 'application/octet-stream' },
  { name: 'naïve café ✓.txt', size: 5000, type: 'text/plain' },
  { name: "odd +&=%#;'\" name.bin", size: 777 },
  { name: 'nested.bin', path: 'folder/sub dir/nested.bin', size: 3 * CS + 17 },
];
const EMPTY = { name: 'empty.bin', size: 0 };

let pages;
let browser;
const receivers = new Set();

async function receiver(options) {
  const started = await startReceiver(options);
  receivers.add(started);
  return started;
}

/** Opens the page for one test; prints the page's console if the test fails. */
async function pageFor(t) {
  const opened = await openPage(browser.context, pages.url);
  t.after(async () => {
    await opened.page.close().catch(() => {});
  });
  return opened;
}

function upload(page, lib, target, specs, extra = {}) {
  return page.evaluate(([lib, target, specs, extra]) => window.T.upload(lib, target, specs, extra), [
    lib,
    target,
    specs,
    extra,
  ]);
}

const floorChunks = (size) => Math.max(Math.floor(size / CS), 1);
const ceilChunks = (size) => Math.max(Math.ceil(size / CS), 1);

function sorted(map) {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Uploads all `specs` with `lib` and checks events, counters and bytes on disk. */
async function uploadsEverySize(t, lib, { options = {}, chunks = floorChunks, expectEmpty }) {
  const recv = await receiver({ cors: true });
  const { page, logs } = await pageFor(t);
  const specs = [EMPTY, ...SPECS];
  const result = await upload(page, lib, recv.url, specs, { options });
  const diag = () => `page log:\n${logs.join('\n')}\nresult: ${JSON.stringify(result, null, 1)}`;

  // 0-byte files: what the library does with them (see tests/browser/README.md).
  const accepted = expectEmpty === 'rejected' ? SPECS : specs;
  if (expectEmpty === 'rejected') {
    assert.deepEqual(result.rejected.map((r) => r.name), [EMPTY.name], diag());
  } else {
    assert.deepEqual(result.rejected, [], diag());
  }

  assert.equal(result.files.length, accepted.length, diag());
  for (const file of result.files) {
    assert.ok(file.ok, `${file.name} failed: ${file.message}\n${diag()}`);
    assert.equal(file.totalChunks, chunks(file.size), `${file.name}: chunk count`);
  }
  assert.ok(result.completeEvents >= 1, 'the library fired complete');

  const totalChunks = accepted.reduce((sum, spec) => sum + chunks(spec.size), 0);
  const stats = await settledStats(recv);
  assert.equal(stats.uploads_done, accepted.length, JSON.stringify(stats));
  assert.equal(stats.posts_rejected, 0, `${JSON.stringify(stats)}\n${recv.stderr()}`);
  // A fresh upload with testChunks: every chunk is tested once (absent: 204), then posted once.
  assert.equal(stats.posts_accepted, totalChunks, JSON.stringify(stats));
  assert.equal(stats.gets, totalChunks, JSON.stringify(stats));
  assert.equal(stats.gets_present, 0, JSON.stringify(stats));
  assert.equal(stats.bytes_accepted, accepted.reduce((sum, spec) => sum + spec.size, 0));

  assert.deepEqual(sorted(await filesOnDisk(recv.dir)), sorted(expectedFiles(accepted)));
  t.diagnostic(`${lib}: ${accepted.length} files, ${totalChunks} chunks, ${stats.bytes_accepted} bytes, byte-identical`);
}

/**
 * Uploads half of a file, pauses (the library aborts the chunks in flight), reloads the
 * page, and uploads the same file with a NEW library instance: testChunks must skip what
 * the receiver already holds.
 */
async function resumesAfterReload(t, lib) {
  const recv = await receiver({ cors: true });
  const { page, logs } = await pageFor(t);
  const spec = { name: `resume-${lib}.bin`, size: 4 * 1024 * 1024 + 5 };
  const total = floorChunks(spec.size);
  const half = total / 2;

  const first = await upload(page, lib, recv.url, [spec], { pauseAfterChunks: half });
  const diag = () => `page log:\n${logs.join('\n')}\nfirst: ${JSON.stringify(first)}`;
  assert.ok(first.paused, diag());
  assert.equal(first.files.length, 0, `no file may finish before the pause\n${diag()}`);
  const [{ identifier, chunksDone, uploading }] = first.added;
  assert.ok(chunksDone >= half && chunksDone < total, diag());
  assert.equal(uploading, 0, `the library really stopped after pause()\n${diag()}`);

  // "Reload": everything still in flight is cut off with the old page.
  await load(page, (await page.url()));
  const before = await settledStats(recv);
  const status = await recv.status(identifier);
  const stored = status.chunks.length;
  // Chunks the client saw finish are stored; aborted ones may have landed too.
  // At most the 3 chunks in flight at the pause can have landed unseen by the client.
  assert.ok(stored >= chunksDone && stored <= chunksDone + 3 && stored < total, `stored ${stored}, client saw ${chunksDone}: ${JSON.stringify(status)}`);
  assert.equal(status.done, false);
  assert.equal((await filesOnDisk(recv.dir)).size, 0, 'nothing assembled after half an upload');

  const second = await upload(page, lib, recv.url, [spec]);
  const after = await settledStats(recv);
  assert.equal(second.files.length, 1, JSON.stringify(second));
  assert.ok(second.files[0].ok, `${second.files[0].message}\n${logs.join('\n')}`);

  const delta = Object.fromEntries(Object.keys(after).map((key) => [key, after[key] - before[key]]));
  t.diagnostic(`${lib}: ${total} chunks, ${stored} stored before the reload; after it: ${JSON.stringify(delta)}`);
  assert.equal(delta.gets, total, 'the new instance tests every chunk once');
  assert.equal(delta.gets_present, stored, 'chunks already stored are answered present (200)');
  assert.ok(delta.gets_present > 0);
  assert.equal(delta.posts_accepted, total - stored, 'only the missing chunks are posted again');
  assert.equal(delta.posts_rejected, 0);
  assert.equal(delta.uploads_done, 1);

  assert.deepEqual(sorted(await filesOnDisk(recv.dir)), sorted(expectedFiles([spec])));

  // The same file once more, from yet another instance: the receiver remembers the
  // finished upload, so every test answers present and not one byte is sent.
  const third = await upload(page, lib, recv.url, [spec]);
  const last = await settledStats(recv);
  assert.ok(third.files[0]?.ok, JSON.stringify(third));
  assert.equal(last.posts_accepted, after.posts_accepted, 'a finished file is not sent again');
  assert.equal(last.gets_present - after.gets_present, total);
  assert.equal(last.uploads_done, after.uploads_done);
}

describe('real browser libraries against twake-upload serve', { timeout: 10 * TEST_TIMEOUT_MS }, () => {
  before(async () => {
    pages = await startPageServer();
    browser = await launchChromium();
  });

  after(async () => {
    // The browser first: its idle keep-alive connections would hold up the receivers'
    // graceful shutdown.
    if (browser) await browser.close();
    await Promise.allSettled([...receivers].map((r) => r.stop()));
    if (pages) await pages.close();
  });

  test('resumable.js uploads every size byte-identically (testChunks, 3 at once; 0 bytes refused by the library)', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await uploadsEverySize(t, 'resumable', { expectEmpty: 'rejected' });
  });

  test('flow.js uploads every size byte-identically (testChunks, 3 at once)', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await uploadsEverySize(t, 'flow', { expectEmpty: 'uploaded' });
  });

  test('flow.js with forceChunkSize uploads every size byte-identically', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await uploadsEverySize(t, 'flow', {
      options: { forceChunkSize: true },
      chunks: ceilChunks,
      expectEmpty: 'uploaded',
    });
  });

  test("resumable.js and flow.js with method: 'octet' (raw chunk bodies; resumable.js last chunk first) upload every size byte-identically", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await uploadsEverySize(t, 'resumable', {
      options: { method: 'octet', prioritizeFirstAndLastChunk: true },
      expectEmpty: 'rejected',
    });
    await uploadsEverySize(t, 'flow', { options: { method: 'octet' }, expectEmpty: 'uploaded' });
  });

  test('resumable.js resumes after pause and reload: only missing chunks are sent again, a finished file not at all', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await resumesAfterReload(t, 'resumable');
  });

  test('flow.js resumes after pause and reload: only missing chunks are sent again, a finished file not at all', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    await resumesAfterReload(t, 'flow');
  });

  test('without --cors the browser libraries cannot upload (CORS blocks them)', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const recv = await receiver({ cors: false });
    const { page, logs } = await pageFor(t);
    const spec = { name: 'blocked.bin', size: 2 * CS + 1 };
    for (const lib of ['resumable', 'flow']) {
      const result = await upload(page, lib, recv.url, [spec]);
      assert.equal(result.files.length, 1, JSON.stringify(result));
      assert.equal(result.files[0].ok, false, `${lib} must report the upload as failed: ${JSON.stringify(result)}`);
    }
    const blocked = logs.filter((line) => /CORS policy/.test(line));
    assert.ok(blocked.length > 0, `Chromium reports CORS blocks:\n${logs.join('\n')}`);
    const stats = await settledStats(recv);
    t.diagnostic(`without --cors: ${blocked.length} CORS errors in the page; receiver counters ${JSON.stringify(stats)}`);
    assert.equal(stats.posts_accepted, 0, 'no chunk body got through');
    assert.equal(stats.uploads_done, 0);
    assert.equal((await filesOnDisk(recv.dir)).size, 0);
  });
});
