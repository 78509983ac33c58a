// Processes the desktop tests start and always stop: Xvfb, tauri-driver, the receiver, and a
// slow proxy in front of it. Everything binds 127.0.0.1 on free ports.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import readline from 'node:readline';

export async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** A private X display; resolves with its ":N" name. */
export async function startXvfb() {
  const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x860x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const display = await new Promise((resolve, reject) => {
    let out = '';
    child.stdio[3].on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(`:${out.trim()}`);
    });
    child.on('exit', (code) => reject(new Error(`Xvfb exited with ${code}`)));
  });
  return { display, stop: () => stop(child) };
}

/**
 * A private D-Bus session bus: the single-instance handover, the tray and notifications talk
 * over it. Resolves with its address.
 */
export async function startSessionBus() {
  // Its stderr only complains that an unprivileged fd limit cannot be raised.
  const child = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const address = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
  });
  return { address, stop: () => stop(child) };
}

/**
 * A helper process spoken to in lines: once serving it prints a line `isReady` accepts (its
 * value is `first`), then one answer line per command line written to its stdin.
 */
async function startLineProcess(name, bin, args, env, isReady) {
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  let started = false;
  const first = await new Promise((resolve, reject) => {
    child.once('exit', (code) => started || reject(new Error(`${name} exited with ${code}`)));
    lines.on('line', (line) => {
      if (started) return waiting.shift()?.(line);
      const value = isReady(line);
      if (value) {
        started = true;
        resolve(value);
      }
    });
  });
  return {
    first,
    ask: (command) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin.write(`${command}\n`);
      }),
    stop: () => stop(child),
  };
}

/**
 * NetworkManager and UPower faked on the bus at `address` (tests/src/bin/fake-power.rs): not
 * metered and on mains power at first; `send('battery on')` and the like change it and resolve
 * once the change is announced on the bus.
 */
export async function startFakePower(bin, address) {
  const power = await startLineProcess('fake-power', bin, [address], {}, (line) => line === 'ready');
  return { send: power.ask, stop: power.stop };
}

/**
 * The cozy-stack double as a process (tests/src/bin/cozy-double.rs), its authorize page
 * asking for `passphrase`: its URL, and `tree()`, what the instance holds
 * ([{ path, dir, sha256 }], the trash left out).
 */
export async function startCozyDouble(bin, passphrase) {
  const cozy = await startLineProcess('cozy-double', bin, [], { COZY_DOUBLE_PASSPHRASE: passphrase }, (line) =>
    line.match(/^listening on (\S+)/)?.[1],
  );
  return {
    url: cozy.first,
    tree: async () => JSON.parse(await cozy.ask('tree')),
    /** A file put on the instance as another device would (`path` has no spaces). */
    put: (path, text) => cozy.ask(`put ${path} ${text}`),
    stop: cozy.stop,
  };
}

/** Runs `bin serve` (the real receiver) and resolves with its upload URL. */
export async function startReceiver(bin, dir) {
  const child = spawn(bin, ['serve', '--dir', dir, '--bind', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
  });
  return { url, stop: () => stop(child) };
}

/**
 * Forwards to `target` after `delayMs` per request, so uploads last long enough to be paused
 * by a person (or a test). Counts chunk POSTs per file name.
 */
export async function startSlowProxy(target, delayMs) {
  const upstream = new URL(target);
  const posts = new Map();
  const server = http.createServer((req, res) => {
    const q = new URL(req.url, 'http://x').searchParams;
    const name = q.get('resumableFilename') ?? '';
    if (req.method === 'POST') posts.set(name, (posts.get(name) ?? 0) + 1);
    setTimeout(() => {
      const fwd = http.request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode, up.headers);
          up.pipe(res);
        },
      );
      fwd.on('error', () => res.destroy());
      req.pipe(fwd);
    }, delayMs);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}${upstream.pathname}`;
  return {
    url,
    posts: (name) => posts.get(name) ?? 0,
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

export async function startTauriDriver(env) {
  const port = await freePort();
  const nativePort = await freePort();
  const child = spawn('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, stop: () => stop(child) };
}

function stop(child) {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 3000).unref();
  });
}
