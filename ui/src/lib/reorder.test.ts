import { describe, expect, it } from 'vitest';
import { applyOrder, moveRequest, slotAt, stepRequest } from './reorder';
import { QueueModel } from './queue';
import { batch, summary } from './testdata';

describe('queue order', () => {
  it('sorts rows as the shell says and keeps later additions at the end', () => {
    expect(applyOrder([1, 2, 3, 4, 5], [3, 1, 2])).toEqual([3, 1, 2, 4, 5]);
    expect(applyOrder([1, 2], [9, 2, 1])).toEqual([2, 1]);
  });

  it('a batch with an order moves the rows, after the files it adds', () => {
    const m = new QueueModel();
    m.apply(batch({ added: [summary(1), summary(2)] }));
    const a = m.apply(batch({ added: [summary(3)], order: [3, 1, 2] }));
    expect(a.rows).toBe(true);
    expect(m.order).toEqual([3, 1, 2]);
    expect(m.ids('active')).toEqual([3, 1, 2]);
    m.apply(batch({ removed: [1], order: [2, 1, 3] }));
    expect(m.order).toEqual([2, 3]);
  });

  it('a drop becomes "before the row below the gap", or the end', () => {
    const ids = [10, 20, 30, 40];
    expect(moveRequest(ids, 40, 0)).toEqual({ id: 40, before: 10 });
    expect(moveRequest(ids, 10, 2)).toEqual({ id: 10, before: 30 });
    expect(moveRequest(ids, 10, 4)).toEqual({ id: 10, before: null });
    // Dropping a row next to itself moves nothing.
    expect(moveRequest(ids, 20, 1)).toBeNull();
    expect(moveRequest(ids, 20, 2)).toBeNull();
    expect(moveRequest(ids, 99, 0)).toBeNull();
  });

  it('Alt+arrows move one row, and not past the ends', () => {
    const ids = [10, 20, 30];
    expect(stepRequest(ids, 20, -1)).toEqual({ id: 20, before: 10 });
    expect(stepRequest(ids, 20, 1)).toEqual({ id: 20, before: null });
    expect(stepRequest(ids, 10, 1)).toEqual({ id: 10, before: 30 });
    expect(stepRequest(ids, 10, -1)).toBeNull();
    expect(stepRequest(ids, 30, 1)).toBeNull();
  });

  it('the pointer picks the nearest gap between rows', () => {
    expect(slotAt(-20, 64, 3)).toBe(0);
    expect(slotAt(31, 64, 3)).toBe(0);
    expect(slotAt(33, 64, 3)).toBe(1);
    expect(slotAt(1000, 64, 3)).toBe(3);
  });
});
