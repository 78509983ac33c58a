// Why the whole queue waits although nothing failed (the engine's `QueueTotals.held`): the
// machine is on a metered connection or on battery and Settings asks uploads to wait then.
// The totals line says it while files are left to send; it goes when the engine continues.
import type { HoldReason } from '../generated/HoldReason';
import type { QueueTotals } from '../generated/QueueTotals';
import { t } from './i18n';

/** The words for these reasons, or null when nothing holds the queue. */
export function heldText(held: readonly HoldReason[]): string | null {
  const metered = held.includes('metered');
  const battery = held.includes('on_battery');
  if (metered && battery) return t('held.both');
  if (metered) return t('held.metered');
  if (battery) return t('held.battery');
  return null;
}

/** What the totals line adds while the queue waits with files left to send. */
export function queueHeldText(totals: QueueTotals): string | null {
  const left = totals.files > totals.files_done + totals.files_failed;
  return left ? heldText(totals.held) : null;
}
