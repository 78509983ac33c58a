// Benchmarks of the desktop app (make app-bench): scrolling 10,000 queued files in Chromium,
// and the time from launch to a usable window (warm). Figures go to the file named by the
// first argument (default: stdout only).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HARNESS_DIR, REPO_DIR, launchChromium, openHarness, serve } from '../support.mjs';
import { startXvfb } from '../desktop/processes.mjs';

const out = process.argv[2];
const TARGET_DIR = process.env.CARGO_TARGET_DIR ?? path.join(REPO_DIR, 'target');
const APP_BIN = process.env.APP_BIN ?? path.join(TARGET_DIR, 'debug/twake-uploader');
const lines = [];
const say = (s) => {
  console.log(s);
  lines.push(s);
};

function pct(values, p) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))];
}

async function scrolling() {
  const server = await serve(HARNESS_DIR);
  const browser = await launchChromium();
  try {
    const { page } = await openHarness(browser, server.url);
    await page.evaluate(() => window.fake.addMany(10_000));
    await page.getByRole('tab', { name: 'All 10,000' }).waitFor();
    // Each frame: scroll 3 rows further, let Svelte update, force style and layout, and time
    // that work; also record the interval between frames as the compositor saw them.
    const r = await page.evaluate(async () => {
      const el = document.querySelector('[data-testid="queue"]');
      const work = [];
      const script = [];
      const layout = [];
      const intervals = [];
      let last = performance.now();
      for (let i = 0; i < 600; i++) {
        await new Promise((res) => requestAnimationFrame(res));
        const t0 = performance.now();
        intervals.push(t0 - last);
        last = t0;
        el.scrollTop = (el.scrollTop + 192) % (el.scrollHeight - el.clientHeight);
        el.dispatchEvent(new Event('scroll'));
        await Promise.resolve();
        await Promise.resolve();
        // What a frame does, in two parts: our script (the scroll handler and Svelte's
        // update of the rows in view), then the browser's style and layout of them.
        const t1 = performance.now();
        void document.body.offsetHeight;
        const rows = el.querySelectorAll('[role="row"]').length;
        const t2 = performance.now();
        script.push(t1 - t0);
        layout.push(t2 - t1);
        work.push(t2 - t0);
        if (i === 0) window.__rowsDrawn = rows;
      }
      return { work, script, layout, rows: window.__rowsDrawn, intervals: intervals.slice(1) };
    });
    say(`scroll, 10,000 rows, 600 frames: work per frame p50 ${pct(r.work, 50).toFixed(2)} ms, p95 ${pct(r.work, 95).toFixed(2)} ms, max ${Math.max(...r.work).toFixed(2)} ms (goal p95 <= 16 ms)`);
    say(`scroll, what a frame does (p95): script ${pct(r.script, 95).toFixed(2)} ms (scroll handler, Svelte's update of the ${r.rows} rows drawn of 10,000), style and layout ${pct(r.layout, 95).toFixed(2)} ms`);
    say(`scroll, frame interval p50 ${pct(r.intervals, 50).toFixed(2)} ms, p95 ${pct(r.intervals, 95).toFixed(2)} ms (60 Hz = 16.7 ms)`);
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Starts the app and resolves with the ms until it logs that the window listens. */
function launchOnce(display, home) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(APP_BIN, [], {
      env: {
        ...process.env,
        DISPLAY: display,
        XDG_CONFIG_HOME: path.join(home, 'config'),
        XDG_DATA_HOME: path.join(home, 'data'),
        RUST_LOG: 'twake_uploader_app=info',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "window ready" within 30 s: ${err.slice(-2000)}`));
    }, 30_000);
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('window ready')) {
        const ms = performance.now() - t0;
        clearTimeout(timer);
        child.once('exit', () => resolve(ms));
        child.kill('SIGTERM');
      }
    });
  });
}

async function launching() {
  if (!fs.existsSync(APP_BIN)) {
    say(`launch: skipped, ${APP_BIN} is not built (make app-build)`);
    return;
  }
  const xvfb = await startXvfb();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'twake-app-bench-'));
  try {
    const runs = [];
    for (let i = 0; i < 6; i++) runs.push(await launchOnce(xvfb.display, home));
    const warm = runs.slice(1);
    const build = APP_BIN.includes('/release/') ? 'release' : 'debug';
    say(`launch to usable window (${build} build, Xvfb, load average ${os.loadavg()[0].toFixed(1)}): cold ${runs[0].toFixed(0)} ms, warm median ${pct(warm, 50).toFixed(0)} ms, warm max ${Math.max(...warm).toFixed(0)} ms (goal warm <= 1000 ms)`);
  } finally {
    await xvfb.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

say(`# Twake Uploader app benchmarks, ${new Date().toISOString()}, ${os.cpus().length} cores`);
await scrolling();
await launching();
if (out) fs.writeFileSync(out, `${lines.join('\n')}\n`);
