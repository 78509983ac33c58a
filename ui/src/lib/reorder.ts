// The queue's order in the UI: applying the order the shell sends, and turning a drop (or
// Alt+arrow) into the one `reorder` call the engine understands. The UI never reorders rows
// itself; it asks, and the shell's next batch carries the new order.

/**
 * `current` sorted as in `order`; ids the order does not know (added after it was taken)
 * keep their relative place at the end.
 */
export function applyOrder(current: readonly number[], order: number[]): number[] {
  const rank = new Map(order.map((id, i) => [id, i]));
  return current
    .map((id, i) => ({ id, key: rank.get(id) ?? order.length + i }))
    .sort((a, b) => a.key - b.key)
    .map((e) => e.id);
}

/** What to ask the shell: move `id` just before `before`, or to the end for `null`. */
export interface MoveRequest {
  id: number;
  before: number | null;
}

/**
 * The move that puts row `id` into gap `slot` of `ids` (0 = above the first row, ids.length =
 * below the last); `null` when it would not move.
 */
export function moveRequest(ids: readonly number[], id: number, slot: number): MoveRequest | null {
  const at = ids.indexOf(id);
  if (at < 0) return null;
  const gap = Math.max(0, Math.min(ids.length, slot));
  if (gap === at || gap === at + 1) return null;
  return { id, before: gap < ids.length ? ids[gap] : null };
}

/** Alt+↑ / Alt+↓: one row up or down. */
export function stepRequest(ids: readonly number[], id: number, step: -1 | 1): MoveRequest | null {
  const at = ids.indexOf(id);
  if (at < 0) return null;
  return moveRequest(ids, id, step < 0 ? at - 1 : at + 2);
}

/** The gap a pointer at `y` (pixels from the top of the list's content) is nearest to. */
export function slotAt(y: number, rowHeight: number, count: number): number {
  return Math.max(0, Math.min(count, Math.round(y / rowHeight)));
}
