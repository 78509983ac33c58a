// What a queue row says: its state in words, its percent and its detail line. Plain data, so
// the wording of every state (an empty file, a failure, a paused one) is unit-tested.

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

export function rowDetail(r: Row): string {
  const s = r.state;
  if (s.state === 'failed') {
    return `${s.reason}. ${s.retryable ? 'Retry when the problem is solved.' : 'Check the file or the target, then retry.'}`;
  }
  if (s.state === 'done') return `${formatBytes(r.size)} uploaded`;
  if (r.size === 0) return `Empty file (${formatBytes(0)})`;
  const moving = s.state === 'uploading';
  return progressText(r.acked, r.size, moving ? r.speed : 0, moving ? r.eta : null);
}
