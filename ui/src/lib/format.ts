// Sizes, speeds and times for people, in the window's language (lib/i18n). One unit system
// everywhere: binary units (1 MiB = 1,048,576 bytes), as the command line prints them and as
// chunk sizes (powers of two) are named, so a 150 MiB file is "150 MiB" in the window, the
// settings and the terminal alike; in French "150 Mio", with a decimal comma ("7,3 Mio").

import { num, t, tn } from './i18n';
import type { TextKey } from './i18n/en';

const UNITS: TextKey[] = ['size.b', 'size.kib', 'size.mib', 'size.gib', 'size.tib'];

function sized(value: string, unit: TextKey): string {
  return t('size.value', { n: value, unit: t(unit) });
}

/** "0 B", "980 B", "7.3 MiB", "12 MiB", "1.2 GiB": at most three significant figures. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return sized(num(0), 'size.b');
  let v = bytes;
  let i = 0;
  // From 999.5 up a unit would print as "1000 KiB" (or 1023): the next one reads better.
  while (v >= 999.5 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return sized(num(Math.round(v)), 'size.b');
  const digits = v < 9.95 ? 1 : 0;
  return sized(num(v, digits), UNITS[i]);
}

export function formatSpeed(bytesPerSec: number): string {
  return t('size.perSecond', { size: formatBytes(bytesPerSec) });
}

/** "45 s", "2 min", "1 h 5 min", "3 days". Rounded up, so "0 s" only when done. */
export function formatDuration(secs: number): string {
  const s = Math.max(0, Math.ceil(secs));
  if (s < 60) return t('duration.s', { n: s });
  const min = Math.ceil(s / 60);
  if (min < 60) return t('duration.min', { n: min });
  const h = Math.floor(min / 60);
  const m = min % 60;
  if (h < 48) return m === 0 ? t('duration.h', { n: h }) : t('duration.hMin', { h, m });
  return tn('duration.days', Math.round(h / 24));
}

/** "42 %", with the language's space before the sign. */
export function formatPercent(pct: number): string {
  return t('percent', { n: pct });
}

/** Acknowledged bytes clamped to the file, so the figure never passes 100 %. */
export function clampDone(done: number, total: number): number {
  return Math.min(Math.max(0, done), Math.max(0, total));
}

/** Whole percent done, rounded down: 100 only when every byte is acknowledged. */
export function percent(done: number, total: number): number {
  if (total <= 0) return done >= total ? 100 : 0;
  return Math.floor((clampDone(done, total) * 100) / total);
}

/**
 * "7.0 MiB of 300 MiB (500 KiB/s) · 2 min left". Speed and time left appear only while they are
 * known and meaningful (moving, not finished).
 */
export function progressText(
  done: number,
  total: number,
  bytesPerSec: number,
  etaSecs: number | null,
): string {
  const d = clampDone(done, total);
  let text = t('progress.of', { done: formatBytes(d), total: formatBytes(total) });
  if (bytesPerSec > 0 && d < total) text = t('progress.speed', { text, speed: formatSpeed(bytesPerSec) });
  if (etaSecs !== null && etaSecs > 0 && d < total) text = t('progress.left', { text, time: formatDuration(etaSecs) });
  return text;
}

/** Splits a server-side relative path into the file name and its folder ("" at the top). */
export function splitRelative(relative: string): { name: string; folder: string } {
  const cut = relative.lastIndexOf('/');
  if (cut < 0) return { name: relative, folder: '' };
  return { name: relative.slice(cut + 1), folder: relative.slice(0, cut) };
}

/** "256 KiB", "1 MiB", "64 MiB": for chunk sizes, which are powers of two. */
export function formatBinary(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 2) {
    v /= 1024;
    i++;
  }
  return sized(num(v, Number.isInteger(v) ? 0 : 1), UNITS[i]);
}
