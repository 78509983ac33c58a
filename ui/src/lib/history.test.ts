import { afterEach, describe, expect, test } from 'vitest';
import type { HistoryEntry } from '../generated/HistoryEntry';
import type { HistoryQuery } from '../generated/HistoryQuery';
import { setLang } from './i18n';
import { HistoryModel, PAGE, finishedWords, folderOf, resultTone, resultWords } from './history';

function entry(i: number, over: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    upload_id: i,
    name: `file-${i}.bin`,
    relative_path: `photos/file-${i}.bin`,
    size: 1000,
    target: 'http://127.0.0.1:1/upload',
    finished_at: 1_796_303_895,
    reason: null,
    link: null,
    result: 'done',
    ...over,
  } as HistoryEntry;
}

/** A shell holding `n` lines, noting what it was asked. */
function shell(n: number) {
  const asked: HistoryQuery[] = [];
  const all = Array.from({ length: n }, (_, i) => entry(i));
  const read = async (q: HistoryQuery) => {
    asked.push(q);
    const hits = all.filter((e) => e.name.includes(q.search));
    return { entries: hits.slice(q.offset, q.offset + q.limit), total: hits.length };
  };
  return { asked, read };
}

describe('the history model', () => {
  test('reads only the pages in view, once each', async () => {
    const s = shell(10_000);
    const m = new HistoryModel(s.read);
    expect(await m.ensure(0, 20)).toBe(true);
    expect(m.total).toBe(10_000);
    expect(m.at(5)?.name).toBe('file-5.bin');
    expect(m.at(PAGE + 1)).toBeUndefined();
    expect(await m.ensure(10, 30)).toBe(false);
    // Scrolled far down: the one page there, not everything above it.
    await m.ensure(9_990, 10_000);
    expect(m.at(9_999)?.name).toBe('file-9999.bin');
    expect(s.asked.map((q) => q.offset)).toEqual([0, Math.floor(9_990 / PAGE) * PAGE]);
  });

  test('a new search starts again and an answer to the old one is dropped', async () => {
    const s = shell(500);
    const m = new HistoryModel(s.read);
    const old = m.ensure(0, 10);
    m.reset('file-42');
    expect(await old).toBe(false);
    await m.ensure(0, 10);
    expect(m.total).toBe(11);
    expect(m.at(0)?.name).toBe('file-42.bin');
    expect(s.asked.at(-1)).toEqual({ search: 'file-42', limit: PAGE, offset: 0 });
  });
});

describe('a history line in words', () => {
  afterEach(() => setLang('en'));

  test('result, tone, folder and date follow the language', () => {
    const failed = entry(1, { result: 'failed', kind: 'quota', reason: 'no space' } as Partial<HistoryEntry>);
    expect(resultWords(entry(1))).toBe('Uploaded');
    expect(resultWords(failed)).toBe('Failed');
    expect(resultTone(failed)).toBe('bad');
    expect(resultWords(entry(2, { result: 'skipped' } as Partial<HistoryEntry>))).toBe('Skipped');
    expect(folderOf('photos/2024/a.jpg')).toBe('photos/2024');
    expect(folderOf('a.jpg')).toBe('');
    // 2026-12-03 13:18 UTC, shown in the machine's time zone: the year and the day's form.
    expect(finishedWords(entry(1))).toMatch(/Dec \d, 2026/);
    setLang('fr');
    expect(resultWords(entry(1))).toBe('Envoyé');
    expect(resultWords(entry(2, { result: 'skipped' } as Partial<HistoryEntry>))).toBe('Ignoré');
    expect(finishedWords(entry(1))).toMatch(/\d déc\. 2026/);
  });
});
