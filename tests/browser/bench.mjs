// One timed browser upload for the benchmarks (scripts/bench_link.sh): the real resumable.js
// 1.1.0 in headless Chromium uploads FILE (read from disk, as a user's pick; a folder: every
// file in it, picked together) to TARGET, with the library's defaults or with Twake Drive's
// web settings. Prints the seconds from the library's first addFiles to its `complete` on
// stdout; the page's figures go to stderr. The caller checks the bytes that arrived (the
// receiver's folder) itself.
//
//   node tests/browser/bench.mjs TARGET FILE|FOLDER defaults|twake
//
// TARGET is the upload URL the page posts to (the link emulator in front of
// `twake-upload serve --cors`). Exits non-zero when the library reports an error.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import { launchChromium, openPage, startPageServer } from './harness.mjs';

/** What each benchmark row gives resumable.js over its own defaults. */
export const SETTINGS = {
  // resumable.js 1.1.0 as published: 1 MiB chunks, 3 at once, a test GET before each chunk.
  defaults: {},
  // Twake Drive's web uploader: 5,000,000-byte chunks, 5 at once, no test GETs.
  twake: { chunkSize: 5000000, simultaneousUploads: 5, testChunks: false },
};

async function main() {
  const [target, file, settings] = process.argv.slice(2);
  if (!target || !file || !(settings in SETTINGS)) {
    console.error(`usage: node tests/browser/bench.mjs TARGET FILE|FOLDER ${Object.keys(SETTINGS).join('|')}`);
    process.exit(2);
  }
  const picked = (await stat(file)).isDirectory()
    ? (await readdir(file)).sort().map((name) => path.resolve(file, name))
    : [path.resolve(file)];
  const pages = await startPageServer();
  const browser = await launchChromium();
  let failed = false;
  try {
    const { page, logs } = await openPage(browser.context, pages.url);
    await page.setInputFiles('#pick', picked);
    const result = await page.evaluate(
      ([target, options]) => window.T.uploadPicked('resumable', target, { options }),
      [target, SETTINGS[settings]],
    );
    const bad = result.files.filter((f) => !f.ok);
    if (bad.length > 0 || result.files.length !== picked.length) {
      failed = true;
      console.error(`resumable.js (${settings}) failed: ${JSON.stringify(result)}\npage log:\n${logs.join('\n')}`);
    } else {
      const chunks = result.files.reduce((sum, f) => sum + f.totalChunks, 0);
      const files = `${result.files.length} file${result.files.length === 1 ? '' : 's'}`;
      console.error(`resumable.js (${settings}): ${files}, ${chunks} chunks in ${(result.elapsedMs / 1000).toFixed(3)} s`);
      console.log((result.elapsedMs / 1000).toFixed(3));
    }
  } finally {
    await browser.close();
    await pages.close();
  }
  process.exit(failed ? 1 : 0);
}

await main();
