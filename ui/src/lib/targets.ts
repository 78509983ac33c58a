// How targets read in the window: a Twake Drive folder from "My Drive" down ("My Drive ›
// Reports"), the same in the menu, the rows, the folder chooser and the watched folders,
// and never with the internal account id (`email@host:port`) the commands use.

import type { TargetInfo } from '../generated/TargetInfo';
import { t as text } from './i18n';
import { driveWords } from './twake';

export interface TargetLabel {
  /** For rows: "My Drive › Reports", "Local test server". */
  short: string;
  /** For menus and tooltips: "Twake Drive — alice@example.com — My Drive › Reports". */
  full: string;
}

/** The email of an account id (`email@server-host[:port]`), as the shell cuts it. */
export function accountEmail(account: string): string {
  const at = account.lastIndexOf('@');
  return at > 0 ? account.slice(0, at) : account;
}

function twakeLabel(account: string, folder: string): TargetLabel {
  const short = driveWords(folder);
  return { short, full: `Twake Drive — ${accountEmail(account)} — ${short}` };
}

export function targetLabel(t: TargetInfo): TargetLabel {
  if (t.kind === 'twake_drive' && t.account) {
    // The id is `twake:{account}:/{folder}`; the account holds no ":/".
    const cut = t.id.indexOf(':/', 'twake:'.length);
    if (cut > 0) return twakeLabel(t.account, t.id.slice(cut + 1));
  }
  // The shell names the local test server in English; the window says it in its language.
  const name = t.kind === 'local_test_server' ? text('target.local') : t.name;
  return { short: name, full: name };
}

/**
 * The line under a target's name: the shell's, except for the local test server, whose
 * folder the window names in its own language (the shell's line is English).
 */
export function targetDetail(t: TargetInfo, localFolder: string | undefined): string {
  return t.kind === 'local_test_server' && localFolder ? text('target.keepsIn', { folder: localFolder }) : t.detail;
}

/** The name the watched folders give a Twake Drive target today: "Twake Drive /Reports (account)". */
const WATCH_NAME = /^Twake Drive (\/.*) \((.+)\)$/;

/** A target the shell names in words (an add report, a watched folder) as the window names it. */
export function readableTarget(name: string, known: TargetInfo[]): TargetLabel {
  const t = known.find((k) => k.name === name);
  if (t) return targetLabel(t);
  const m = WATCH_NAME.exec(name);
  if (m) return twakeLabel(m[2], m[1]);
  return { short: name, full: name };
}
