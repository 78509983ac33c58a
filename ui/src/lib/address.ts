// A Twake Drive server address as people type or paste it: "drive.example.com" (no scheme)
// is tried as https, an address copied from the browser's bar ("…/drive/…", "…/#/client/…")
// is cut to its origin, and what cannot be an address is said in words before anything is
// sent (the URL parser's "relative URL without a base" is for programmers).

import type { UserError } from '../generated/UserError';

const HINT = 'Type the address you open Twake Drive at in a browser, like https://drive.example.com.';

export type AddressResult = { url: string } | { error: UserError };

export function serverAddress(typed: string): AddressResult {
  const text = typed.trim();
  if (text === '') return { error: { message: 'Type the server address', hint: HINT } };
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    return { error: { message: `'${text}' is not a server address`, hint: HINT } };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    return {
      error: { message: `'${text}' is not a web address: Twake Drive is reached over https:// (or http://)`, hint: HINT },
    };
  }
  // Browsers differ on what a host may hold (Chromium percent-encodes spaces where the URL
  // standard refuses them), so the host is checked here: letters, digits, dots and dashes
  // (international names arrive in their xn-- form), or an IPv6 address in brackets.
  if (/\s/.test(text) || !/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/i.test(u.hostname)) {
    return { error: { message: `'${text}' is not a server address`, hint: HINT } };
  }
  return { url: u.origin };
}
