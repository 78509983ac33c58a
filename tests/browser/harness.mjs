// Helpers for the browser tests: the receiver process, the page server, Chromium, and
// checks on the receiver's folder. Everything binds 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { makeBytes, seedFor } from './gen.mjs';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const RECEIVER_BIN = process.env.TWAKE_UPLOAD_BIN
  ? path.resolve(process.env.TWAKE_UPLOAD_BIN)
  : path.resolve(HERE, '../../target/debug/twake-upload');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

/** The flags the machine's notes require for Chromium on this closed network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function tempDir(prefix) {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/**
 * Starts `twake-upload serve` on a fresh temp folder, port 0, and reads its URL from the
 * first stdout line. Returns { url, dir, stats(), status(id), stop() }.
 */
export async function startReceiver({ cors = true } = {}) {
  const dir = await tempDir('twake-browser-recv-');
  const args = ['serve', '--dir', dir, '--bind', '127.0.0.1:0'];
  if (cors) args.push('--cors');
  const child = spawn(RECEIVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => {
    stderr += text;
  });
  const lines = createInterface({ input: child.stdout });
  let timer;
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => line),
    once(child, 'exit').then(([code]) => {
      throw new Error(`${RECEIVER_BIN} exited with ${code} before listening: ${stderr}`);
    }),
    once(child, 'error').then(([err]) => {
      throw new Error(`cannot run ${RECEIVER_BIN} (build it with cargo build -p twake-upload, or set TWAKE_UPLOAD_BIN): ${err.message}`);
    }),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${RECEIVER_BIN} printed nothing in 15 s: ${stderr}`)), 15000);
    }),
  ])
    .catch(async (err) => {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw err;
    })
    .finally(() => clearTimeout(timer));
  const match = /^listening on (http:\/\/127\.0\.0\.1:\d+\/upload)$/.exec(first);
  if (!match) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`unexpected first line from the receiver: ${JSON.stringify(first)}`);
  }
  const url = match[1];
  const getJson = async (suffix) => {
    const answer = await fetch(`${url}${suffix}`);
    if (!answer.ok) throw new Error(`GET ${suffix}: ${answer.status} ${await answer.text()}`);
    return answer.json();
  };
  let stopped = false;
  return {
    url,
    dir,
    cors,
    stderr: () => stderr,
    stats: () => getJson('/stats'),
    status: (identifier) => getJson(`/status?identifier=${encodeURIComponent(identifier)}`),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGINT'); // `serve` stops cleanly on Ctrl-C
        let grace;
        const clean = await Promise.race([
          exited.then(() => true),
          new Promise((resolve) => {
            grace = setTimeout(() => resolve(false), 5000);
          }),
        ]).finally(() => clearTimeout(grace));
        if (!clean) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until the receiver's counters stop moving (requests the browser aborted may still
 * be finishing on the server) and returns the last snapshot.
 */
export async function settledStats(receiver, quietMs = 400, maxMs = 10000) {
  const deadline = Date.now() + maxMs;
  let last = JSON.stringify(await receiver.stats());
  for (;;) {
    await sleep(quietMs);
    const now = JSON.stringify(await receiver.stats());
    if (now === last) return JSON.parse(now);
    if (Date.now() > deadline) throw new Error(`receiver counters still moving after ${maxMs} ms`);
    last = now;
  }
}

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
};

/**
 * Serves the test page and the libraries as published on npm, on its own port (so the
 * page's origin differs from the receiver's and CORS really applies).
 */
export async function startPageServer() {
  const routes = {
    '/': path.join(HERE, 'page', 'index.html'),
    '/driver.mjs': path.join(HERE, 'page', 'driver.mjs'),
    '/gen.mjs': path.join(HERE, 'gen.mjs'),
    '/lib/resumable.js': path.join(HERE, 'node_modules', 'resumablejs', 'resumable.js'),
    '/lib/flow.js': path.join(HERE, 'node_modules', '@flowjs', 'flow.js', 'dist', 'flow.js'),
  };
  const server = createServer((req, res) => {
    const file = routes[new URL(req.url, 'http://x').pathname];
    if (req.method !== 'GET' || !file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? CONTENT_TYPES['.html'],
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Debian's Chromium, headless, with a fresh profile folder. */
export async function launchChromium() {
  const profile = await tempDir('twake-browser-profile-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the test page, collecting console messages and page errors for diagnostics. */
export async function openPage(context, pageUrl) {
  const page = await context.newPage();
  const logs = [];
  page.on('console', (msg) => logs.push(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => logs.push(`[pageerror] ${err.message}`));
  // The libraries' default error callbacks use alert(): never let one block the page.
  page.on('dialog', (dialog) => {
    logs.push(`[dialog] ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  await load(page, pageUrl);
  return { page, logs };
}

/** (Re)loads the page and waits for the driver. */
export async function load(page, pageUrl) {
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.T && window.Resumable && window.Flow, null, { timeout: 15000 });
}

export function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What the receiver's folder must hold for `specs`: relative path -> sha256. */
export function expectedFiles(specs) {
  const map = new Map();
  for (const spec of specs) map.set(spec.path ?? spec.name, sha256(makeBytes(seedFor(spec), spec.size)));
  return map;
}

/** The finished files in the receiver's folder (its own `.resumable` state excluded). */
export async function filesOnDisk(dir) {
  const map = new Map();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath ?? entry.path, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    if (rel.startsWith('.resumable/')) continue;
    map.set(rel, sha256(await readFile(full)));
  }
  return map;
}
