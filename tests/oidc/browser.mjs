#!/usr/bin/env node
// The "system browser" of the sign-in tests: the app and the CLI open sign-in pages through the
// TWAKE_UPLOADER_BROWSER hook, and tests point it at this script. It opens the URL in headless
// Chromium, as a person would: types the test user's email and password into a login form,
// presses the page's submit button (sign in, allow, authorize…) until the browser lands on the
// loopback callback the uploader listens on, then waits for that page to load and exits.
//
//   browser.mjs URL
// Environment: TWAKE_TEST_LOGIN and TWAKE_TEST_PASSWORD (what to type), CHROMIUM (the binary,
// /usr/bin/chromium by default), TWAKE_TEST_BROWSER_LOG (a file that gets one line per page
// seen, without query strings: codes and states stay out of it). With
// TWAKE_TEST_BROWSER_UNREACHABLE_CALLBACK=1 the browser is on another machine than the
// uploader: the loopback callback cannot load, and the address it would have loaded is printed
// on stdout instead (what a person copies to paste back).

import { appendFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const url = process.argv[2];
if (!url) {
  console.error('usage: browser.mjs URL');
  process.exit(2);
}
const login = process.env.TWAKE_TEST_LOGIN ?? 'alice@example.com';
const password = process.env.TWAKE_TEST_PASSWORD ?? 'correct horse battery staple';
const log = (line) => {
  if (process.env.TWAKE_TEST_BROWSER_LOG) appendFileSync(process.env.TWAKE_TEST_BROWSER_LOG, `${line}\n`);
};
const bare = (u) => {
  const p = new URL(u);
  return `${p.origin}${p.pathname}`;
};
const atCallback = (u) => {
  const p = new URL(u);
  return (p.hostname === '127.0.0.1' || p.hostname === 'localhost') && p.pathname.endsWith('/callback');
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
let code = 1;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  page.on('requestfailed', (r) => console.error(`browser.mjs: ${bare(r.url())} failed: ${r.failure()?.errorText}`));
  const elsewhere = process.env.TWAKE_TEST_BROWSER_UNREACHABLE_CALLBACK === '1';
  let missed = null;
  if (elsewhere) {
    // Through the DevTools protocol: unlike page.route, it also sees the hops of a redirect.
    const cdp = await page.context().newCDPSession(page);
    cdp.on('Fetch.requestPaused', (e) => {
      if (atCallback(e.request.url)) {
        missed = e.request.url;
        cdp.send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'ConnectionRefused' }).catch(() => {});
      } else {
        cdp.send('Fetch.continueRequest', { requestId: e.requestId }).catch(() => {});
      }
    });
    await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*/callback*' }] });
  }
  await page.goto(url);
  for (let step = 0; step < 12; step += 1) {
    await page.waitForLoadState('load');
    log(bare(page.url()));
    if (missed) {
      console.log(missed);
      code = 0;
      break;
    }
    if (atCallback(page.url())) {
      code = 0;
      break;
    }
    const fill = async (selector, value) => {
      const field = page.locator(selector).first();
      if (await field.count()) await field.fill(value);
    };
    await fill('input[name="login"], input[name="email"], input[type="email"]', login);
    await fill('input[type="password"]', password);
    const submit = page.locator('button[type="submit"], input[type="submit"]').first();
    if (!(await submit.count())) {
      console.error(`browser.mjs: nothing to press on ${bare(page.url())}`);
      break;
    }
    const before = page.url();
    await Promise.all([page.waitForURL((u) => u.toString() !== before, { waitUntil: 'load' }).catch(() => {}), submit.click()]);
    if (page.url() === before && !missed) {
      const alert = await page.locator('[role="alert"]').first().textContent().catch(() => null);
      console.error(`browser.mjs: ${bare(before)} did not move on${alert ? `: ${alert}` : ''}`);
      break;
    }
  }
  if (code !== 0) console.error(`browser.mjs: stopped at ${bare(page.url())}`);
} catch (err) {
  console.error(`browser.mjs: ${err.message}`);
} finally {
  await browser.close();
}
process.exit(code);
