import { describe, expect, it } from 'vitest';
import { EMPTY_TOTALS } from './queue';
import { formatSpeed } from './format';
import { linkText } from './link';

describe('the link figures of the totals line', () => {
  it('say how many requests fly, of how many, and why that many', () => {
    const t = { ...EMPTY_TOTALS, bytes_per_sec: 50_000_000, requests_in_flight: 7, requests_allowed: 8 };
    expect(linkText(t)).toBe(`${formatSpeed(50_000_000)} · 7 requests in flight of 8 (as many as the link takes now)`);
    expect(linkText({ ...t, follows_link: false, requests_in_flight: 1, requests_allowed: 3 })).toMatch(/ · 1 request in flight of 3 \(fixed in Settings\)$/);
  });

  it('say nothing is sent when nothing is', () => {
    expect(linkText(EMPTY_TOTALS)).toBe('Nothing being sent');
  });
});
