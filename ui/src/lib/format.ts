// Sizes, speeds and times for people. Decimal units (1 MB = 1,000,000 bytes), as file
// managers show them, so "300 MB" here matches what the person sees next to the file.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** "0 B", "980 B", "7.3 MB", "12 MB", "1.2 GB": at most three significant figures. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '0 B';
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B`;
  // 999.96 KB would print as "1000 KB": move to the next unit instead.
  if (v >= 999.5 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  const digits = v < 10 ? 1 : 0;
  return `${v.toFixed(digits)} ${UNITS[i]}`;
}

export function formatSpeed(bytesPerSec: number): string {
  return `${formatBytes(bytesPerSec)}/s`;
}

/** "45 s", "2 min", "1 h 5 min", "3 days". Rounded up, so "0 s" only when done. */
export function formatDuration(secs: number): string {
  const s = Math.max(0, Math.ceil(secs));
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  const m = min % 60;
  if (h < 48) return m === 0 ? `${h} h` : `${h} h ${m} min`;
  return `${Math.round(h / 24)} days`;
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
 * "7 MB of 300 MB (500 KB/s) · 2 min left". Speed and time left appear only while they are
 * known and meaningful (moving, not finished).
 */
export function progressText(
  done: number,
  total: number,
  bytesPerSec: number,
  etaSecs: number | null,
): string {
  const d = clampDone(done, total);
  let text = `${formatBytes(d)} of ${formatBytes(total)}`;
  if (bytesPerSec > 0 && d < total) text += ` (${formatSpeed(bytesPerSec)})`;
  if (etaSecs !== null && etaSecs > 0 && d < total) text += ` · ${formatDuration(etaSecs)} left`;
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
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
