import { describe, expect, it } from 'vitest';
import { nextStop } from './modal';

describe('Tab inside a dialog', () => {
  it('goes round at both ends instead of leaving', () => {
    expect(nextStop(0, 3, false)).toBe(1);
    expect(nextStop(2, 3, false)).toBe(0);
    expect(nextStop(0, 3, true)).toBe(2);
    expect(nextStop(1, 3, true)).toBe(0);
  });
  it('comes back in from outside at the first or last stop', () => {
    expect(nextStop(-1, 3, false)).toBe(0);
    expect(nextStop(-1, 3, true)).toBe(2);
    expect(nextStop(-1, 0, false)).toBe(-1);
  });
});
