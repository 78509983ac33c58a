// The UI's copy of the watched folders, built only from the shell's overview and its watch
// batches, and the words the panel shows for a folder's state and last sync. Plain data, so
// the reduction and the wording are unit-tested without a DOM.

import type { FolderState } from '../generated/FolderState';
import type { WatchBatch } from '../generated/WatchBatch';
import type { WatchedFolder } from '../generated/WatchedFolder';
import type { WatchOverview } from '../generated/WatchOverview';
import { formatDuration } from './format';
import { num, t, tn } from './i18n';

/** Folders by path, in the order they are shown (by path, so they do not jump around). */
export class WatchModel {
  private folders = new Map<string, WatchedFolder>();
  builtinIgnore: string[] = [];

  load(o: WatchOverview): void {
    this.folders = new Map(o.folders.map((f) => [f.path, f]));
    this.builtinIgnore = o.builtin_ignore;
  }

  /** Applies a batch; returns whether the whole list must be read again. */
  apply(b: WatchBatch): { resync: boolean } {
    if (b.resync) return { resync: true };
    for (const f of b.folders) this.folders.set(f.path, f);
    for (const p of b.removed) this.folders.delete(p);
    return { resync: false };
  }

  list(): WatchedFolder[] {
    return [...this.folders.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  get size(): number {
    return this.folders.size;
  }
}


/** A folder's state in words: "Scanning: 120 of 5,000 files", "3 files pending", … */
export function stateWords(s: FolderState): string {
  switch (s.state) {
    case 'scanning':
      return s.total > 0
        ? t('watch.scanningOf', { seen: num(s.seen), files: tn('count.file', s.total) })
        : t('watch.scanningSoFar', { files: tn('count.file', s.seen) });
    case 'syncing':
      return t('watch.pending', { files: tn('count.file', s.pending) });
    case 'up_to_date':
      return t('watch.upToDate');
    case 'paused':
      return t('watch.paused');
    case 'error':
      return t('watch.error', { reason: s.reason });
    case 'stopped':
      return t('watch.stopped');
  }
}

/** What a state looks like: drives the colour of the state badge. */
export function stateTone(s: FolderState): 'ok' | 'busy' | 'bad' | 'idle' {
  switch (s.state) {
    case 'up_to_date':
      return 'ok';
    case 'scanning':
    case 'syncing':
      return 'busy';
    case 'error':
      return 'bad';
    default:
      return 'idle';
  }
}

/** "Last sync just now", "… 2 min ago", "… 3 h ago", "… 2 days ago"; `now` in ms. */
export function lastSyncWords(lastSync: number | null, now: number): string {
  if (lastSync === null) return t('sync.never');
  const secs = Math.max(0, Math.floor(now / 1000 - lastSync));
  if (secs < 60) return t('sync.justNow');
  const min = Math.floor(secs / 60);
  if (min < 60) return t('sync.ago', { time: t('duration.min', { n: min }) });
  const h = Math.floor(min / 60);
  if (h < 48) return t('sync.ago', { time: t('duration.h', { n: h }) });
  return t('sync.ago', { time: tn('duration.days', Math.floor(h / 24)) });
}

/** The folder's last path component, for buttons' labels ("Pause Photos"). */
export function folderName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== '');
  return parts.at(-1) ?? path;
}

/** Ignore patterns typed in a text area: one a line, blank lines dropped. */
export function parsePatterns(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
}
