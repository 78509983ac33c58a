// What a queue row says: its state in words, its percent and its detail line. Plain data, so
// the wording of every state (an empty file, a failure, a paused one) is unit-tested.

import type { FailureKind } from '../generated/FailureKind';
import type { FileState } from '../generated/FileState';
import { formatBytes, percent, progressText } from './format';
import type { Row } from './queue';

export function stateWords(s: FileState): string {
  switch (s.state) {
    case 'queued':
      return 'Waiting';
    case 'testing':
      return 'Checking what the server has';
    case 'uploading':
      return 'Uploading';
    case 'paused':
      return 'Paused';
    case 'done':
      return 'Uploaded';
    case 'cancelled':
      return 'Cancelled';
    case 'failed':
      return 'Failed';
  }
}

/**
 * Whole percent done. An empty file has nothing to acknowledge, so by bytes it would be
 * "100 %" while still waiting: it is 0 until the engine says it is done.
 */
export function rowPercent(r: Row): number {
  if (r.state.state === 'done') return 100;
  if (r.size === 0) return 0;
  return percent(r.acked, r.size);
}

/** What a person can do about a failure, chosen by its kind (never by its wording). */
export function failureHint(kind: FailureKind, retryable: boolean): string {
  switch (kind) {
    case 'signed_out':
      return 'Sign in again; the upload continues by itself after that.';
    case 'quota':
      return 'Free some space in Twake Drive, or ask for a larger quota, then retry.';
    case 'no_write_access':
      return 'Choose another folder, or ask its owner for write access.';
    case 'not_found':
      return 'Choose another folder; it may have been moved or deleted.';
    case 'file_changed':
      return 'Retry to upload the file as it is now.';
    case 'unreadable':
      return 'Check that the file exists and that you may read it, then retry.';
    case 'too_large':
      return 'The server refuses pieces this large; ask its administrator.';
    case 'untrusted':
      return 'Add your organisation\'s certificate authority to the system, or check the address.';
    case 'unreachable':
      return 'Check your network connection, then retry.';
    case 'server_error':
      return 'The server had trouble; retry in a moment.';
    case 'refused':
      return retryable ? 'Retry when the problem is solved.' : 'Check the file or the target, then retry.';
  }
}

export function rowDetail(r: Row): string {
  const s = r.state;
  if (s.state === 'failed') {
    return `${s.reason}. ${failureHint(s.kind, s.retryable)}`;
  }
  if (s.state === 'done') return `${formatBytes(r.size)} uploaded`;
  if (r.size === 0) return `Empty file (${formatBytes(0)})`;
  const moving = s.state === 'uploading';
  return progressText(r.acked, r.size, moving ? r.speed : 0, moving ? r.eta : null);
}
