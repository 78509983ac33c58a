// Renders the UI in the dark theme against the fake shell, with every chunk state on show,
// for docs/screenshots/dark.png (make app-screenshots). Not a test: it asserts nothing.
import path from 'node:path';
import { HARNESS_DIR, REPO_DIR, launchChromium, openHarness, serve } from './support.mjs';

const out = process.argv[2] ?? path.join(REPO_DIR, 'docs/screenshots/dark.png');
const server = await serve(HARNESS_DIR);
const browser = await launchChromium();
try {
  const { page } = await openHarness(browser, server.url, { colorScheme: 'dark' });
  await page.evaluate(async () => {
    const f = window.fake;
    const [a, b, c, d] = f.add(['holiday/IMG_2041.mov', 'holiday/IMG_2042.jpg', 'report-final.pdf', 'archive-2023.tar'], 96_000_000, 1_000_000);
    await f.setState(a.id, { state: 'uploading' });
    await f.setProgress(a.id, 41_000_000, 3_400_000, 17);
    await f.setState(b.id, { state: 'done' });
    await f.setProgress(b.id, 96_000_000, 0, 0);
    await f.setState(c.id, { state: 'failed', kind: 'quota', reason: 'http://127.0.0.1:41000/upload refused the upload (403): quota exceeded', retryable: false });
    await f.setState(d.id, { state: 'paused' });
    await f.setProgress(d.id, 12_000_000, 0, null);
  });
  await page.locator('[role="row"]').first().click();
  await page.getByTestId('chunk-map').waitFor();
  await page.evaluate(async () => {
    const id = 1;
    const chunks = [];
    for (let n = 1; n <= 41; n++) chunks.push({ id, chunk: n, state: { state: 'done' }, acked_bytes: 0 });
    chunks.push({ id, chunk: 42, state: { state: 'sending' }, acked_bytes: 0 });
    chunks.push({ id, chunk: 43, state: { state: 'sending' }, acked_bytes: 0 });
    chunks.push({ id, chunk: 44, state: { state: 'retrying', attempt: 3, retry_in_ms: 2000, reason: 'answered 503: busy' }, acked_bytes: 0 });
    chunks.push({ id, chunk: 45, state: { state: 'testing' }, acked_bytes: 0 });
    await window.fake.push({ added: [], replanned: [], files: [], progress: [], removed: [], totals: null, connectivity: null, notices: [], resync: false, chunks });
  });
  const box = await page.getByTestId('chunk-map').boundingBox();
  const [cell, gap, cols] = await page.getByTestId('chunk-map').evaluate((c) => ['cell', 'gap', 'cols'].map((k) => Number(c.dataset[k])));
  const i = 43;
  await page.mouse.move(box.x + (i % cols) * (cell + gap) + cell / 2, box.y + Math.floor(i / cols) * (cell + gap) + cell / 2);
  await page.waitForTimeout(200);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}
