// What the totals line's tooltip says about the link: the speed, the requests in flight now
// and how many the uploader allows, and whether that number follows the link or is fixed.
import type { QueueTotals } from '../generated/QueueTotals';
import { formatSpeed } from './format';
import { num, t, tn } from './i18n';

export function linkText(totals: QueueTotals): string {
  if (totals.requests_in_flight === 0 && totals.bytes_per_sec === 0) return t('toolbar.linkIdle');
  const why = t(totals.follows_link ? 'toolbar.linkFollows' : 'toolbar.linkFixed');
  const flying = tn('toolbar.linkRequests', totals.requests_in_flight, { allowed: num(totals.requests_allowed), why });
  return `${formatSpeed(totals.bytes_per_sec)} · ${flying}`;
}
