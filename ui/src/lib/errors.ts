// What a failed command shows. Commands reject with a UserError (message + hint, written for
// the person); anything else — Tauri's own "invalid args `x` for command `y`: …", a missing
// command, a dropped IPC channel — is a bug on our side, and its raw text means nothing to the
// person who reads it, so it becomes plain words (the raw text goes to the console for us).

import type { UserError } from '../generated/UserError';

export const UNEXPECTED: UserError = {
  message: 'Twake Uploader could not do this: something unexpected went wrong on our side',
  hint: 'Try again. If it happens again, please report it; your files and the queue are not affected.',
};

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
  return UNEXPECTED;
}
