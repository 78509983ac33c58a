import { describe, expect, test } from 'vitest';
import type { WatchedFolder } from '../generated/WatchedFolder';
import { WatchModel, folderName, lastSyncWords, parsePatterns, stateTone, stateWords } from './watch';

function folder(path: string, over: Partial<WatchedFolder> = {}): WatchedFolder {
  return {
    path,
    target: 'Local test server',
    state: { state: 'up_to_date' },
    pending: 0,
    files: 0,
    uploaded: 0,
    moved: 0,
    last_sync: null,
    ...over,
  };
}

const batch = (over: { folders?: WatchedFolder[]; removed?: string[]; resync?: boolean }) => ({
  folders: [],
  removed: [],
  resync: false,
  ...over,
});

describe('WatchModel', () => {
  test('a batch replaces a folder by path, adds new ones and removes gone ones', () => {
    const m = new WatchModel();
    m.load({ folders: [folder('/b'), folder('/a')], builtin_ignore: ['*.part'] });
    expect(m.list().map((f) => f.path)).toEqual(['/a', '/b']);
    expect(m.builtinIgnore).toEqual(['*.part']);
    m.apply(batch({ folders: [folder('/a', { state: { state: 'syncing', pending: 3 } }), folder('/c')] }));
    m.apply(batch({ removed: ['/b'] }));
    expect(m.list().map((f) => f.path)).toEqual(['/a', '/c']);
    expect(m.list()[0].state).toEqual({ state: 'syncing', pending: 3 });
    expect(m.size).toBe(2);
  });

  test('a resync batch asks for a reload and changes nothing', () => {
    const m = new WatchModel();
    m.load({ folders: [folder('/a')], builtin_ignore: [] });
    expect(m.apply(batch({ resync: true, removed: ['/a'] }))).toEqual({ resync: true });
    expect(m.size).toBe(1);
  });

  test('removing a folder that a later batch brings back shows it again', () => {
    const m = new WatchModel();
    m.apply(batch({ removed: ['/a'] }));
    m.apply(batch({ folders: [folder('/a')] }));
    expect(m.size).toBe(1);
  });
});

describe('wording', () => {
  test('each state in words', () => {
    expect(stateWords({ state: 'scanning', seen: 1200, total: 5000 })).toBe('Scanning: 1,200 of 5,000 files');
    expect(stateWords({ state: 'scanning', seen: 1, total: 0 })).toBe('Scanning: 1 file so far');
    expect(stateWords({ state: 'syncing', pending: 1 })).toBe('1 file pending');
    expect(stateWords({ state: 'syncing', pending: 42 })).toBe('42 files pending');
    expect(stateWords({ state: 'up_to_date' })).toBe('Up to date');
    expect(stateWords({ state: 'paused' })).toBe('Paused');
    expect(stateWords({ state: 'error', reason: '/x is unreadable' })).toBe('Error: /x is unreadable');
    expect(stateWords({ state: 'stopped' })).toBe('Not watched right now');
  });

  test('tones follow the state', () => {
    expect(stateTone({ state: 'up_to_date' })).toBe('ok');
    expect(stateTone({ state: 'syncing', pending: 2 })).toBe('busy');
    expect(stateTone({ state: 'error', reason: 'x' })).toBe('bad');
    expect(stateTone({ state: 'paused' })).toBe('idle');
  });

  test('last sync is said relative to now', () => {
    const now = 1_800_000_000_000;
    const t = now / 1000;
    expect(lastSyncWords(null, now)).toBe('Not synced yet');
    expect(lastSyncWords(t - 5, now)).toBe('Last sync just now');
    expect(lastSyncWords(t + 5, now)).toBe('Last sync just now');
    expect(lastSyncWords(t - 130, now)).toBe('Last sync 2 min ago');
    expect(lastSyncWords(t - 3 * 3600 - 10, now)).toBe('Last sync 3 h ago');
    expect(lastSyncWords(t - 3 * 86400, now)).toBe('Last sync 3 days ago');
  });

  test('folder names and ignore lines', () => {
    expect(folderName('/home/me/Photos')).toBe('Photos');
    expect(folderName('C:\\Users\\me\\Docs\\')).toBe('Docs');
    expect(parsePatterns('*.log\n\n  \nbuild/  \n!keep.log')).toEqual(['*.log', 'build/', '!keep.log']);
  });
});
