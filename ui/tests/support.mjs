// Shared by the browser tests and the benchmark: serve a built UI on 127.0.0.1:0 with the
// app's own CSP, and start Debian's Chromium through playwright-core (never a downloaded one).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const UI_DIR = path.resolve(import.meta.dirname, '..');
export const REPO_DIR = path.resolve(UI_DIR, '..');

/** The CSP of tauri.conf.json, as a header (Tauri adds its IPC origins; http here). */
export function appCsp() {
  const conf = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'src-tauri/tauri.conf.json'), 'utf8'));
  const csp = conf.app.security.csp;
  return Object.entries(csp)
    .map(([k, v]) => (k === 'connect-src' ? `${k} 'self'` : `${k} ${v}`))
    .join('; ');
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Serves `dir` on a free loopback port. */
export async function serve(dir) {
  const csp = appCsp();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const file = path.join(dir, rel);
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-security-policy': csp,
    });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) };
}

export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Opens the harness page; resolves once the app has loaded, with CSP violations collected. */
export async function openHarness(browser, url, options = {}) {
  const context = await browser.newContext({
    viewport: { width: 1120, height: 740 },
    colorScheme: options.colorScheme ?? 'light',
  });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI} ${e.sample}`),
    );
  });
  // A test's own watcher, in place before the app's first frame.
  if (options.init) await page.addInitScript(options.init);
  // The fake shell's OS locale, as LANG gives the real one (English unless asked).
  await page.goto(options.systemLanguage ? `${url}?system_language=${options.systemLanguage}` : url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  return { page, context, problems };
}

export const HARNESS_DIR = path.join(UI_DIR, 'dist-harness');

/**
 * For a test file: serves the harness and starts Chromium before its tests, stops both after.
 * Returns `open(options)`, which opens a fresh page.
 */
export function useHarness({ before, after }) {
  let server;
  let browser;
  before(async () => {
    server = await serve(HARNESS_DIR);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  return (options) => openHarness(browser, server.url, options);
}
