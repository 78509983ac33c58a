// What a failed command shows. Commands reject with a UserError (message + hint, written for
// the person); anything else — Tauri's own "invalid args `x` for command `y`: …", a missing
// command, a dropped IPC channel — is a bug on our side, and its raw text means nothing to the
// person who reads it, so it becomes plain words (the raw text goes to the console for us).

import type { UserError } from '../generated/UserError';
import { t } from './i18n';

/** What a bug on our side shows, in the window's language. */
export function unexpected(): UserError {
  return { message: t('error.unexpected'), hint: t('error.unexpectedHint') };
}

function isUserError(e: unknown): e is UserError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as UserError).message === 'string' &&
    typeof (e as UserError).hint === 'string'
  );
}

/** Any rejection as a UserError fit to show. */
export function asUserError(e: unknown): UserError {
  // The field stays: the form puts the keyboard on what the shell refused.
  if (isUserError(e)) return { message: e.message, hint: e.hint, ...(typeof e.field === 'string' ? { field: e.field } : {}) };
  console.warn('a command failed without a UserError:', e);
  return unexpected();
}
