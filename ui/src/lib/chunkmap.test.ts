import { describe as group, expect, it } from 'vitest';
import { cellOrigin, describe, fillFraction, hitTest, layout } from './chunkmap';

group('chunk map layout', () => {
  it('gives a few chunks big cells', () => {
    const l = layout(12, 600, 240);
    expect(l.cell).toBe(28);
    expect(l.rows).toBe(1);
  });

  it('fits 10,000 chunks in the height', () => {
    const l = layout(10_000, 800, 240);
    expect(l.rows * (l.cell + l.gap)).toBeLessThanOrEqual(240 + l.gap);
    expect(l.cols * l.rows).toBeGreaterThanOrEqual(10_000);
    expect(l.cell).toBeGreaterThanOrEqual(2);
  });

  it('hit testing finds the cell drawn at a point, and nothing past the last chunk', () => {
    const l = layout(100, 400, 240);
    for (const i of [0, 1, 37, 99]) {
      const { x, y } = cellOrigin(l, i);
      expect(hitTest(l, 100, x + 1, y + 1)).toBe(i);
    }
    const beyond = cellOrigin(l, 100);
    expect(hitTest(l, 100, beyond.x + 1, beyond.y + 1)).toBe(-1);
    expect(hitTest(l, 100, -3, 2)).toBe(-1);
  });
});

group('chunk hover text', () => {
  it('names the chunk, its byte range, state and the last answer', () => {
    const text = describe(
      {
        number: 17,
        start: 16_000_000,
        end: 17_000_000,
        state: { state: 'retrying', attempt: 3, retry_in_ms: 2000, reason: '503' },
        attempts: 2,
        last_answer: 'http://h/upload answered 503: busy',
      },
      300,
    );
    expect(text).toContain('Chunk 17 of 300');
    expect(text).toContain('bytes 16,000,000–16,999,999 (977 KiB)');
    expect(text).toContain('trying again in 2 s · 2 failed attempts');
    expect(text).toContain('last answer: http://h/upload answered 503: busy');
  });
});

group('bytes in flight', () => {
  const sending = { number: 2, start: 1_000_000, end: 2_000_000, state: { state: 'sending' as const }, attempts: 0, last_answer: '' };

  it('fill a sending cell in proportion, never past full', () => {
    expect(fillFraction(sending, undefined)).toBe(0);
    expect(fillFraction(sending, 250_000)).toBe(0.25);
    expect(fillFraction(sending, 5_000_000)).toBe(1);
    expect(fillFraction({ ...sending, end: sending.start }, 10)).toBe(0);
  });

  it('are told in the hover text', () => {
    expect(describe(sending, 10, 400_000)).toContain('sending, 391 KiB on the way');
    expect(describe(sending, 10)).toContain(' · sending');
  });
});
