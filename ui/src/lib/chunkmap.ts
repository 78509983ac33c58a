// The chunk map: one cell per chunk, coloured by state, drawn on a canvas so 10,000 chunks
// cost one frame. Layout and hit testing are plain functions, so they are unit-tested.

import type { ChunkState } from '../generated/ChunkState';
import type { ChunkView } from '../generated/ChunkView';
import { formatBytes, formatDuration } from './format';
import { t, tn } from './i18n';
import type { TextKey } from './i18n/en';

export type CellKind = ChunkState['state'];

/** Colours per state, light and dark. Tests read these back from the canvas pixels. */
export const PALETTE: Record<'light' | 'dark', Record<CellKind, string>> = {
  light: {
    pending: '#d5dae3',
    testing: '#a9c7fb',
    sending: '#2f6fed',
    done: '#23a35a',
    retrying: '#f0a020',
    failed: '#d93025',
  },
  dark: {
    pending: '#3a4150',
    testing: '#3c5d99',
    sending: '#5b8cff',
    done: '#2fbf6b',
    retrying: '#f5b342',
    failed: '#ff5c4d',
  },
};

/**
 * The unfilled part of a sending cell: the cell fills with the sending colour as its bytes are
 * handed to the connection. Unlike "checking" and "waiting", so a just-started send reads right.
 */
export const SENDING_TRACK: Record<'light' | 'dark', string> = {
  light: '#9fb0cf',
  dark: '#27355a',
};

/** How much of a sending cell is filled: bytes handed over so far over the chunk's size. */
export function fillFraction(c: ChunkView, sent: number | undefined): number {
  const size = c.end - c.start;
  if (!sent || size <= 0) return 0;
  return Math.min(1, sent / size);
}

export const LEGEND: { kind: CellKind; label: TextKey }[] = [
  { kind: 'pending', label: 'chunks.pending' },
  { kind: 'testing', label: 'chunks.testing' },
  { kind: 'sending', label: 'chunks.sending' },
  { kind: 'done', label: 'chunks.done' },
  { kind: 'retrying', label: 'chunks.retrying' },
  { kind: 'failed', label: 'chunks.failed' },
];

/** Cell sizes tried, largest first: big cells for small files, 2 px for huge ones. */
const SIZES = [28, 22, 18, 14, 11, 8, 6, 5, 4, 3, 2];

export interface Layout {
  cell: number;
  gap: number;
  cols: number;
  rows: number;
  width: number;
  height: number;
}

/** Fits `count` cells into `width` × at most `maxHeight` CSS pixels. */
export function layout(count: number, width: number, maxHeight: number): Layout {
  const n = Math.max(1, count);
  const w = Math.max(1, Math.floor(width));
  for (const cell of SIZES) {
    const gap = cell >= 6 ? 2 : cell >= 4 ? 1 : 0;
    const pitch = cell + gap;
    const cols = Math.max(1, Math.floor((w + gap) / pitch));
    const rows = Math.ceil(n / cols);
    if (rows * pitch - gap <= maxHeight || cell === SIZES[SIZES.length - 1]) {
      return { cell, gap, cols, rows, width: w, height: Math.max(cell, rows * pitch - gap) };
    }
  }
  throw new Error('unreachable');
}

/** Index of the chunk under a point (CSS pixels from the canvas corner), or -1. */
export function hitTest(l: Layout, count: number, x: number, y: number): number {
  const pitch = l.cell + l.gap;
  const col = Math.floor(x / pitch);
  const row = Math.floor(y / pitch);
  if (col < 0 || row < 0 || col >= l.cols || row >= l.rows) return -1;
  const i = row * l.cols + col;
  return i < count ? i : -1;
}

/** Top-left corner of chunk `i`, in CSS pixels. */
export function cellOrigin(l: Layout, i: number): { x: number; y: number } {
  const pitch = l.cell + l.gap;
  return { x: (i % l.cols) * pitch, y: Math.floor(i / l.cols) * pitch };
}

/** Draws every cell; batches by colour so 10,000 cells are a handful of fill calls. */
export function draw(
  ctx: CanvasRenderingContext2D,
  l: Layout,
  chunks: ChunkView[],
  colours: Record<CellKind, string>,
  focus: number,
  track: string = colours.sending,
  sent: Map<number, number> = new Map(),
): void {
  ctx.clearRect(0, 0, l.width, l.height);
  const byKind = new Map<CellKind, number[]>();
  chunks.forEach((c, i) => {
    const list = byKind.get(c.state.state) ?? [];
    list.push(i);
    byKind.set(c.state.state, list);
  });
  for (const [kind, list] of byKind) {
    ctx.fillStyle = kind === 'sending' ? track : colours[kind];
    ctx.beginPath();
    for (const i of list) {
      const { x, y } = cellOrigin(l, i);
      ctx.rect(x, y, l.cell, l.cell);
    }
    ctx.fill();
  }
  // Sending cells fill from the left with the bytes in flight.
  ctx.fillStyle = colours.sending;
  ctx.beginPath();
  for (const i of byKind.get('sending') ?? []) {
    const w = Math.round(l.cell * fillFraction(chunks[i], sent.get(chunks[i].number)));
    if (w <= 0) continue;
    const { x, y } = cellOrigin(l, i);
    ctx.rect(x, y, w, l.cell);
  }
  ctx.fill();
  if (l.cell >= 14) {
    // Retry counts fit inside cells this big.
    ctx.fillStyle = '#1b1f27';
    ctx.font = `${Math.floor(l.cell * 0.6)}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (const i of byKind.get('retrying') ?? []) {
      const s = chunks[i].state;
      if (s.state !== 'retrying') continue;
      const { x, y } = cellOrigin(l, i);
      ctx.fillText(String(s.attempt - 1), x + l.cell / 2, y + l.cell / 2 + 1);
    }
  }
  if (focus >= 0 && focus < chunks.length) {
    const { x, y } = cellOrigin(l, focus);
    ctx.strokeStyle = colours.sending;
    ctx.lineWidth = 2;
    ctx.strokeRect(x - 1, y - 1, l.cell + 2, l.cell + 2);
  }
}

function stateWords(s: ChunkState): string {
  if (s.state === 'retrying') return t('chunk.retrying', { time: formatDuration(s.retry_in_ms / 1000) });
  return t(`chunk.${s.state}`);
}

/** "Chunk 17 of 300 · bytes 16,000,000–16,999,999 (1.0 MB) · sending · last answer: …" */
export function describe(c: ChunkView, total: number, sent?: number): string {
  const last = c.end > c.start ? c.end - 1 : c.start;
  const parts = [
    t('chunk.number', { n: c.number, total }),
    t('chunk.bytes', { from: c.start, to: last, size: formatBytes(c.end - c.start) }),
    c.state.state === 'sending' && sent ? t('chunk.sendingSent', { size: formatBytes(sent) }) : stateWords(c.state),
  ];
  if (c.attempts > 0) parts.push(tn('chunk.attempts', c.attempts));
  if (c.last_answer) parts.push(t('chunk.lastAnswer', { answer: c.last_answer }));
  return parts.join(' · ');
}
