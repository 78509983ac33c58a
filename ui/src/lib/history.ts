// The History tab's data: the shell's upload history read a page at a time as the list
// scrolls (a history of 100,000 lines costs the pages in view), for one search at a time, and
// how a line is worded (result, date and size in the window's language).

import type { HistoryEntry } from '../generated/HistoryEntry';
import type { HistoryPage } from '../generated/HistoryPage';
import type { HistoryQuery } from '../generated/HistoryQuery';
import { dateTime, t } from './i18n';

/** Lines asked of the shell at once. */
export const PAGE = 200;

export class HistoryModel {
  search = '';
  /** How many lines match the search, as the shell last said; `null` before the first read. */
  total: number | null = null;
  private pages = new Map<number, HistoryEntry[]>();
  private asked = new Set<number>();
  /** Bumped by `reset`, so an answer to an older search is dropped. */
  private generation = 0;

  constructor(private read: (q: HistoryQuery) => Promise<HistoryPage>) {}

  /** Forgets what was read: a new search, or the history changed. */
  reset(search = this.search): void {
    this.search = search;
    this.pages.clear();
    this.asked.clear();
    this.generation++;
  }

  at(index: number): HistoryEntry | undefined {
    return this.pages.get(Math.floor(index / PAGE))?.[index % PAGE];
  }

  /** Reads the pages that lines `first` to `last` (excluded) fall in, unless already read or
   * asked for; answers whether anything new arrived for the current search. */
  async ensure(first: number, last: number): Promise<boolean> {
    const generation = this.generation;
    const wanted: number[] = [];
    const end = Math.max(first + 1, last);
    for (let p = Math.floor(first / PAGE); p <= Math.floor((end - 1) / PAGE); p++) {
      if (!this.asked.has(p)) wanted.push(p);
    }
    if (wanted.length === 0) return false;
    wanted.forEach((p) => this.asked.add(p));
    const pages = await Promise.all(
      wanted.map((p) => this.read({ search: this.search, limit: PAGE, offset: p * PAGE })),
    );
    if (generation !== this.generation) return false;
    wanted.forEach((p, i) => {
      this.pages.set(p, pages[i].entries);
      this.total = pages[i].total;
    });
    return true;
  }
}

/** "Uploaded", "Failed", "Skipped", "Cancelled". */
export function resultWords(e: HistoryEntry): string {
  switch (e.result) {
    case 'done':
      return t('state.done');
    case 'failed':
      return t('state.failed');
    case 'skipped':
      return t('history.skipped');
    case 'cancelled':
      return t('state.cancelled');
  }
}

export function resultTone(e: HistoryEntry): 'ok' | 'bad' | '' {
  return e.result === 'done' ? 'ok' : e.result === 'failed' ? 'bad' : '';
}

/** When a line finished, as the window's language writes a date and time. */
export function finishedWords(e: HistoryEntry): string {
  return dateTime(e.finished_at * 1000);
}

/** The folder part of a server path ("2024/photos" for "2024/photos/a.jpg"), or "". */
export function folderOf(relativePath: string): string {
  const slash = relativePath.lastIndexOf('/');
  return slash < 0 ? '' : relativePath.slice(0, slash);
}
