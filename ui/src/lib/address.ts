// Server addresses as people type or paste them: "drive.example.com" (no scheme) is tried as
// https, a Twake Drive address copied from the browser's bar ("…/drive/…", "…/#/client/…")
// is cut to its origin, and what cannot be an address is said in words before anything is
// sent (the URL parser's "relative URL without a base" is for programmers).

import type { UserError } from '../generated/UserError';
import { t } from './i18n';

export type AddressResult = { url: string } | { error: UserError };

/** What a person typed, as a web address; `what` names the field in the messages. */
function webAddress(typed: string, what: string, hint: string): URL | UserError {
  const text = typed.trim();
  if (text === '') return { message: t('address.type', { what }), hint };
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    return { message: t('address.notServer', { text }), hint };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    return { message: t('address.notWeb', { text }), hint };
  }
  // Browsers differ on what a host may hold (Chromium percent-encodes spaces where the URL
  // standard refuses them), so the host is checked here: letters, digits, dots and dashes
  // (international names arrive in their xn-- form), or an IPv6 address in brackets.
  if (/\s/.test(text) || !/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/i.test(u.hostname)) {
    return { message: t('address.notServer', { text }), hint };
  }
  return u;
}

/** A Twake Drive server: its origin, whatever page of it was copied. */
export function serverAddress(typed: string): AddressResult {
  const u = webAddress(typed, t('address.serverWhat'), t('address.serverHint'));
  return u instanceof URL ? { url: u.origin } : { error: u };
}

/** A Resumable.js / Flow.js endpoint: its path and query are part of it. */
export function uploadAddress(typed: string): AddressResult {
  const u = webAddress(typed, t('address.uploadWhat'), t('address.uploadHint'));
  return u instanceof URL ? { url: u.href } : { error: u };
}
