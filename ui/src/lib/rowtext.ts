// What a queue row says: its state in words, its percent and its detail line. Plain data, so
// the wording of every state (an empty file, a failure, a paused one) is unit-tested.

import type { FailureKind } from '../generated/FailureKind';
import type { FileState } from '../generated/FileState';
import { formatBytes, percent, progressText } from './format';
import { t } from './i18n';
import type { Row } from './queue';

export function stateWords(s: FileState): string {
  return t(`state.${s.state}`);
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

/** A failure's reason and what a person can do about it, chosen by its kind (never by its
 * wording). */
export function failureText(reason: string, kind: FailureKind, retryable: boolean): string {
  if (kind === 'refused') return t(retryable ? 'row.failedRetryable' : 'row.failedFinal', { reason });
  return t('row.failedHint', { reason, hint: t(`hint.${kind}`) });
}

export function rowDetail(r: Row): string {
  const s = r.state;
  if (s.state === 'failed') {
    return failureText(s.reason, s.kind, s.retryable);
  }
  if (s.state === 'done') return t('row.uploaded', { size: formatBytes(r.size) });
  if (s.state === 'skipped') return s.reason;
  if (r.size === 0) return t('row.empty', { size: formatBytes(0) });
  const moving = s.state === 'uploading';
  return progressText(r.acked, r.size, moving ? r.speed : 0, moving ? r.eta : null);
}
