// The few W3C WebDriver calls the desktop test needs, over fetch (no client library).
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(base, application, args) {
    const r = await call(`${base}/session`, 'POST', {
      capabilities: { alwaysMatch: { 'tauri:options': { application, args } } },
    });
    return new Session(base, r.sessionId);
  }

  cmd(path, method = 'GET', body) {
    return call(`${this.base}/session/${this.id}${path}`, method, body);
  }

  /** Runs `script` (a function body) in the window and returns its value. */
  run(script, ...args) {
    return this.cmd('/execute/sync', 'POST', { script, args });
  }

  async click(css) {
    const el = await this.cmd('/element', 'POST', { using: 'css selector', value: css });
    await this.cmd(`/element/${el[ELEMENT]}/click`, 'POST', {});
  }

  /** Types `text` into the element `css` selects, as a keyboard would (WebDriver key codes allowed). */
  async type(css, text) {
    const el = await this.cmd('/element', 'POST', { using: 'css selector', value: css });
    await this.cmd(`/element/${el[ELEMENT]}/value`, 'POST', { text });
  }

  async screenshot() {
    return Buffer.from(await this.cmd('/screenshot'), 'base64');
  }

  /** Polls `script` until it returns a truthy value; throws with `what` after `ms`. */
  async until(what, script, ms = 30_000) {
    const end = Date.now() + ms;
    let last;
    while (Date.now() < end) {
      last = await this.run(script);
      if (last) return last;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
  }

  close() {
    return call(`${this.base}/session/${this.id}`, 'DELETE').catch(() => {});
  }
}

async function call(url, method, body) {
  const r = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${url}: ${JSON.stringify(json.value ?? json)}`);
  return json.value;
}
