import { describe, expect, it } from 'vitest';
import { SpeedMeter } from './speed';

describe('a file’s speed', () => {
  it('starts from the engine’s figure, then follows the bytes it sees move', () => {
    const m = new SpeedMeter();
    m.engine(500_000);
    m.moved(0, 0);
    expect(m.speed(0)).toBe(500_000);
    for (let t = 250; t <= 3000; t += 250) m.moved(t, t * 1000);
    // 1,000 bytes a millisecond.
    expect(m.speed(3000)).toBeCloseTo(1_000_000, -3);
  });

  it('slows down when nothing moves, instead of holding the last figure', () => {
    const m = new SpeedMeter();
    for (let t = 0; t <= 3000; t += 500) m.moved(t, t * 1000);
    m.moved(6000, 3_000_000);
    expect(m.speed(6000)).toBeLessThan(700_000);
  });

  it('starts over when bytes are taken back (a chunk sent again)', () => {
    const m = new SpeedMeter();
    for (let t = 0; t <= 3000; t += 500) m.moved(t, t * 1000);
    m.moved(3500, 1_000_000);
    m.engine(42);
    expect(m.speed(3500)).toBe(42);
  });
});
