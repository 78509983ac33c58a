// The UI's copy of the queue, built only from the shell's snapshots and event batches (the
// UI never decides anything about an upload). Rows and the order are replaced, never
// mutated, so Svelte sees which ones changed (a derived value that returns the same array
// is "unchanged", and the list would go on drawing the old count); acknowledged bytes only
// grow, except when the engine re-plans.

import type { ChunkState } from '../generated/ChunkState';
import type { ChunkView } from '../generated/ChunkView';
import type { EventBatch } from '../generated/EventBatch';
import type { FileState } from '../generated/FileState';
import type { QueueSnapshot } from '../generated/QueueSnapshot';
import type { QueueTotals } from '../generated/QueueTotals';
import type { UploadSummary } from '../generated/UploadSummary';
import { clampDone, splitRelative } from './format';
import { applyOrder } from './reorder';
import { secondsLeft, SpeedMeter } from './speed';

export interface Row {
  id: number;
  name: string;
  /** Folder on the server side ("" when the file was added on its own). */
  folder: string;
  path: string;
  target: string;
  size: number;
  chunkSize: number;
  totalChunks: number;
  state: FileState;
  /** Bytes the server acknowledged; never decreases within one plan. */
  acked: number;
  /** Bytes handed to the connection but not acknowledged yet. */
  inFlight: number;
  /** Bytes per second while it uploads (lib/speed.ts), 0 otherwise. */
  speed: number;
  /** Seconds left at `speed`; null while nothing moves. */
  eta: number | null;
  /** Why the engine cut the file anew, when it did. */
  replanReason: string | null;
  /** Its target makes share links: once done, the row offers "Copy link". */
  shareLinks: boolean;
}

export type Tab = 'all' | 'active' | 'done' | 'failed';

/** What a row's buttons ask for. */
export type RowAction = 'pause' | 'resume' | 'cancel' | 'retry' | 'reveal' | 'next' | 'link';

export const EMPTY_TOTALS: QueueTotals = {
  files: 0,
  files_done: 0,
  files_failed: 0,
  bytes_total: 0,
  bytes_acked: 0,
  bytes_per_sec: 0,
  eta_secs: null,
  offline: false,
  requests_in_flight: 0,
  requests_allowed: 0,
  follows_link: true,
  held: [],
};

export function inTab(state: FileState, tab: Tab): boolean {
  switch (tab) {
    case 'all':
      return true;
    case 'active':
      return !isFinished(state);
    case 'done':
      // A skipped file ended well too: what the person wanted is on the server.
      return state.state === 'done' || state.state === 'skipped';
    case 'failed':
      return state.state === 'failed';
  }
}

/** A file whose bytes are moving (or about to), so it has a speed. */
export function isMoving(state: FileState): boolean {
  return state.state === 'uploading' || state.state === 'testing';
}

export function isFinished(state: FileState): boolean {
  return ['done', 'failed', 'cancelled', 'skipped'].includes(state.state);
}

function rowFrom(u: UploadSummary): Row {
  const { name, folder } = splitRelative(u.relative_path);
  return {
    id: u.id,
    name,
    folder,
    path: u.path,
    target: u.target,
    size: u.size,
    chunkSize: u.chunk_size,
    totalChunks: u.total_chunks,
    state: u.state,
    acked: clampDone(u.acked_bytes, u.size),
    inFlight: 0,
    speed: isMoving(u.state) ? u.bytes_per_sec : 0,
    eta: isMoving(u.state) ? secondsLeft(u.size - clampDone(u.acked_bytes, u.size), u.bytes_per_sec) : null,
    replanReason: null,
    shareLinks: u.share_links,
  };
}

/** The chunk map of the one file the person looks at. */
export interface ChunkMapData {
  id: number;
  chunks: ChunkView[];
  /** Bytes handed to the connection per chunk number, while that chunk is being sent. */
  sent: Map<number, number>;
}

/** What an `apply` changed, so views redraw only what they must. */
export interface Applied {
  rows: boolean;
  chunks: boolean;
  resync: boolean;
}

export class QueueModel {
  rows = new Map<number, Row>();
  /** Ids in queue order (the order files were added, as the person rearranged it). Replaced
   * on every change, never pushed to. */
  order: readonly number[] = [];
  totals: QueueTotals = EMPTY_TOTALS;
  chunkMap: ChunkMapData | null = null;
  /** Speed meters of the files uploading, fed with every batch. */
  private meters = new Map<number, SpeedMeter>();
  /** Bytes in flight per chunk of each file, as the latest batches said. */
  private flying = new Map<number, Map<number, number>>();
  /** Files added by batches while a snapshot is being read (`startRead`), or null. */
  private addedDuringRead: UploadSummary[] | null = null;

  /**
   * A snapshot is being asked for. Batches keep coming meanwhile, and one may add a file the
   * snapshot (taken before it) does not hold: `load` keeps those, or the file would vanish
   * from the list until the next restart.
   */
  startRead(): void {
    this.addedDuringRead = [];
  }

  /** The snapshot could not be read: nothing to keep for it. */
  cancelRead(): void {
    this.addedDuringRead = null;
  }

  load(snapshot: QueueSnapshot): void {
    const before = this.rows;
    this.rows = new Map();
    this.meters = new Map();
    this.flying = new Map();
    const order: number[] = [];
    for (const u of snapshot.uploads) {
      if (!this.rows.has(u.id)) order.push(u.id);
      this.rows.set(u.id, rowFrom(u));
    }
    for (const u of this.addedDuringRead ?? []) {
      if (this.rows.has(u.id)) continue;
      order.push(u.id);
      // As the batches since have made it (its state, its bytes), not as it was added.
      this.rows.set(u.id, before.get(u.id) ?? rowFrom(u));
    }
    this.addedDuringRead = null;
    this.order = order;
    this.totals = snapshot.totals;
  }

  get(id: number): Row | undefined {
    return this.rows.get(id);
  }

  private update(id: number, change: (r: Row) => Partial<Row>): boolean {
    const r = this.rows.get(id);
    if (!r) return false;
    this.rows.set(id, { ...r, ...change(r) });
    return true;
  }

  /** Applies one batch; `now` (ms) times the speed meters. */
  apply(batch: EventBatch, now: number = performance.now()): Applied {
    const out: Applied = { rows: false, chunks: false, resync: batch.resync };
    /** Files whose moved bytes may have changed in this batch. */
    const touched = new Set<number>();
    const added: number[] = [];
    this.addedDuringRead?.push(...batch.added);
    for (const u of batch.added) {
      // A batch may repeat what a snapshot already showed: the snapshot is newer.
      if (!this.rows.has(u.id)) {
        this.rows.set(u.id, rowFrom(u));
        added.push(u.id);
      }
    }
    if (added.length > 0) {
      this.order = [...this.order, ...added];
      out.rows = true;
    }
    // A watched file renamed or moved where it came from: the row reads its name now.
    for (const n of batch.renamed ?? []) {
      const { name, folder } = splitRelative(n.relative_path);
      out.rows = this.update(n.id, () => ({ name, folder, path: n.path })) || out.rows;
    }
    for (const p of batch.replanned) {
      this.stopMeter(p.id);
      out.rows =
        this.update(p.id, () => ({
          chunkSize: p.chunk_size,
          totalChunks: p.total_chunks,
          acked: 0,
          inFlight: 0,
          replanReason: p.reason,
        })) || out.rows;
      if (this.chunkMap?.id === p.id) {
        this.chunkMap = { id: p.id, chunks: [], sent: new Map() };
        out.chunks = true;
      }
    }
    for (const f of batch.files) {
      // A file that stops moving starts its speed afresh when it moves again.
      if (!isMoving(f.state)) this.stopMeter(f.id);
      else touched.add(f.id);
      out.rows =
        this.update(f.id, (r) =>
          // Done is final in the engine; an older batch must not bring a file back to life.
          r.state.state === 'done' ? {} : { state: f.state, ...(isMoving(f.state) ? {} : { speed: 0, eta: null, inFlight: 0 }) },
        ) || out.rows;
    }
    // The coalescer sends a chunk's bytes in flight after its latest state: a new state
    // (done, retrying, sending again) ends the old fill.
    for (const c of batch.chunks) {
      this.flying.get(c.id)?.delete(c.chunk);
      touched.add(c.id);
    }
    for (const f of batch.in_flight) {
      let chunks = this.flying.get(f.id);
      if (!chunks) this.flying.set(f.id, (chunks = new Map()));
      chunks.set(f.chunk, f.sent_bytes);
      touched.add(f.id);
    }
    if (this.chunkMap) {
      const map = this.chunkMap;
      for (const c of batch.chunks) {
        if (c.id !== map.id) continue;
        const cell = map.chunks[c.chunk - 1];
        if (!cell) continue;
        if (cell.state.state === 'done' && c.state.state !== 'done') continue;
        // Any new state (done, a retry, sending again) starts the fill over.
        map.sent.delete(c.chunk);
        map.chunks[c.chunk - 1] = {
          ...cell,
          state: c.state,
          attempts: attemptsAfter(cell.attempts, c.state),
          last_answer: answerAfter(cell.last_answer, c.state),
        };
        out.chunks = true;
      }
      for (const f of batch.in_flight) {
        if (f.id !== map.id || map.chunks[f.chunk - 1]?.state.state !== 'sending') continue;
        map.sent.set(f.chunk, Math.max(map.sent.get(f.chunk) ?? 0, f.sent_bytes));
        out.chunks = true;
      }
    }
    for (const c of batch.chunks) {
      out.rows = this.update(c.id, (r) => ({ acked: grow(r, c.acked_bytes) })) || out.rows;
    }
    for (const p of batch.progress) {
      if (this.rows.has(p.id)) this.meter(p.id).engine(p.bytes_per_sec);
      touched.add(p.id);
      out.rows =
        this.update(p.id, (r) => {
          const size = p.total_bytes;
          return { size, acked: clampDone(Math.max(r.acked, p.acked_bytes), size) };
        }) || out.rows;
    }
    for (const id of touched) out.rows = this.measure(id, now) || out.rows;
    if (batch.removed.length > 0) {
      const gone = new Set(batch.removed);
      for (const id of gone) {
        this.rows.delete(id);
        this.stopMeter(id);
      }
      this.order = this.order.filter((id) => !gone.has(id));
      if (this.chunkMap && gone.has(this.chunkMap.id)) this.chunkMap = null;
      out.rows = true;
    }
    if (batch.order) {
      this.order = applyOrder(this.order, batch.order);
      out.rows = true;
    }
    if (batch.totals) {
      this.totals = batch.totals;
      out.rows = true;
    }
    return out;
  }

  private meter(id: number): SpeedMeter {
    let m = this.meters.get(id);
    if (!m) this.meters.set(id, (m = new SpeedMeter()));
    return m;
  }

  private stopMeter(id: number): void {
    this.meters.delete(id);
    this.flying.delete(id);
  }

  /** Feeds a moving file's meter with the bytes it moved so far; its speed and time left follow. */
  private measure(id: number, now: number): boolean {
    const r = this.rows.get(id);
    if (!r || !isMoving(r.state)) return false;
    let inFlight = 0;
    for (const sent of this.flying.get(id)?.values() ?? []) inFlight += sent;
    const meter = this.meter(id);
    meter.moved(now, r.acked + inFlight);
    const speed = Math.round(meter.speed(now));
    // The time left is for the bytes not handed over yet: counting a chunk in flight as
    // not sent would hold the figure still for a whole chunk, then drop it all at once.
    const eta = secondsLeft(unsent(r.size, r.acked, inFlight), speed);
    if (speed === r.speed && eta === r.eta && inFlight === r.inFlight) return false;
    this.rows.set(id, { ...r, speed, eta, inFlight });
    return true;
  }

  setChunks(id: number, chunks: ChunkView[]): void {
    this.chunkMap = { id, chunks, sent: new Map() };
  }

  ids(tab: Tab): readonly number[] {
    if (tab === 'all') return this.order;
    return this.order.filter((id) => {
      const r = this.rows.get(id);
      return r !== undefined && inTab(r.state, tab);
    });
  }

  /**
   * Totals for the toolbar, all from the rows, so they agree with the rows at every moment:
   * the speed is the sum of the rows' speeds, the time left is every unfinished byte at that
   * speed (files still waiting included).
   */
  liveTotals(): QueueTotals {
    const t = { ...this.totals, files: 0, files_done: 0, files_failed: 0, bytes_total: 0, bytes_acked: 0, bytes_per_sec: 0 };
    let remaining = 0;
    for (const r of this.rows.values()) {
      t.files++;
      if (r.state.state === 'done') t.files_done++;
      if (r.state.state === 'failed') t.files_failed++;
      t.bytes_total += r.size;
      t.bytes_acked += r.acked;
      if (isMoving(r.state)) t.bytes_per_sec += r.speed;
      if (!isFinished(r.state)) remaining += unsent(r.size, r.acked, r.inFlight);
    }
    t.eta_secs = t.bytes_per_sec > 0 ? secondsLeft(remaining, t.bytes_per_sec) : null;
    return t;
  }

  counts(): Record<Tab, number> {
    const c = { all: this.order.length, active: 0, done: 0, failed: 0 };
    for (const r of this.rows.values()) {
      if (!isFinished(r.state)) c.active++;
      else if (inTab(r.state, 'done')) c.done++;
      else if (r.state.state === 'failed') c.failed++;
    }
    return c;
  }
}

function unsent(size: number, acked: number, inFlight: number): number {
  return Math.max(0, size - acked - inFlight);
}

function grow(r: Row, acked: number): number {
  return clampDone(Math.max(r.acked, acked), r.size);
}

function attemptsAfter(before: number, state: ChunkState): number {
  return state.state === 'retrying' ? Math.max(before, state.attempt - 1) : before;
}

function answerAfter(before: string, state: ChunkState): string {
  if (state.state === 'retrying') return state.reason;
  if (state.state === 'failed') return state.reason;
  return before;
}
