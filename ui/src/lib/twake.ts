// The Twake Drive sign-in flow as plain data: which step shows (the address, then the
// password form or the wait for the browser, pick the company, choose the folder) and the
// folder chooser's paths. The components only render a step.

import type { TargetInfo } from '../generated/TargetInfo';
import type { TwakeAccountInfo } from '../generated/TwakeAccountInfo';
import type { TwakeServer } from '../generated/TwakeServer';
import type { UserError } from '../generated/UserError';
import { t } from './i18n';

/** What the sign-in dialog starts with: empty, or the account to sign in again. */
export interface SignInPrefill {
  server: string;
  email: string;
}

export type TwakeStep =
  | { step: 'address' }
  | { step: 'sign_in' }
  | { step: 'browser'; server: string }
  | { step: 'company'; account: TwakeAccountInfo }
  | { step: 'folder'; account: TwakeAccountInfo };

export type SignInField = 'server' | 'email' | 'password';

/**
 * The sign-in field a refusal is about, for the keyboard to go back to: the credentials
 * when the server refused them, else the address (unreachable, not Twake Drive, malformed).
 * The shell's UserError has no field yet (SHELL-TODO.md), so this reads the one refusal it
 * words as a refusal of the credentials.
 */
export function fieldToCorrect(e: UserError): SignInField {
  if (e.field === 'server' || e.field === 'email' || e.field === 'password') return e.field;
  // Older shells said which field only in words.
  return /refused this email and password/.test(e.message) ? 'password' : 'server';
}

/** After "Continue": the password form, or the wait while the person signs in in the browser. */
export function afterDetect(found: TwakeServer): TwakeStep {
  return found.kind === 'password' ? { step: 'sign_in' } : { step: 'browser', server: found.server };
}

/** An email typed where the address goes: its domain may be the server (the shell checks). */
export function looksLikeEmail(typed: string): boolean {
  return /^[^@\s/:]+@[^@\s/]+$/.test(typed.trim());
}

/** After a sign-in: the company choice when there are several, else the folder chooser. */
export function afterSignIn(account: TwakeAccountInfo): TwakeStep {
  return account.companies.length > 1 ? { step: 'company', account } : { step: 'folder', account };
}

/** A Drive path in the shell's normal form: "" for My Drive's root, else "/a/b". */
export function normalFolder(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => `/${s}`)
    .join('');
}

export function childPath(path: string, name: string): string {
  return `${normalFolder(path)}/${name}`;
}

export function parentPath(path: string): string {
  const p = normalFolder(path);
  return p.slice(0, p.lastIndexOf('/'));
}

/** "My Drive › Reports": a Drive folder as the window names it everywhere. */
export function driveWords(path: string): string {
  return crumbs(path)
    .map((c) => c.name)
    .join(' › ');
}

/** The breadcrumb trail of a folder, from My Drive down. */
export function crumbs(path: string): { name: string; path: string }[] {
  const out = [{ name: t('drive.root'), path: '' }];
  let at = '';
  for (const name of normalFolder(path).split('/').filter((s) => s !== '')) {
    at = `${at}/${name}`;
    out.push({ name, path: at });
  }
  return out;
}

/** The account a Twake Drive target belongs to, when it was signed out and needs a sign-in. */
export function needsSignIn(t: TargetInfo | undefined): boolean {
  return t?.kind === 'twake_drive' && t.signed_out != null;
}

/** What "Sign in again" fills the dialog with: the server and email of the account name. */
export function prefillFor(account: TwakeAccountInfo | undefined): SignInPrefill {
  return account ? { server: account.server, email: account.email } : { server: '', email: '' };
}
