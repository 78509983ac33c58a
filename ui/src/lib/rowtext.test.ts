import { describe, expect, it } from 'vitest';
import type { FileState } from '../generated/FileState';
import { rowDetail, rowPercent, stateWords } from './rowtext';
import { row } from './testdata';

const at = (state: FileState['state']) => ({ state }) as FileState;

describe('an empty file', () => {
  it('reads "Uploaded" and "0 B uploaded" with a full bar once done', () => {
    const r = row({ state: at('done') });
    expect(stateWords(r.state)).toBe('Uploaded');
    expect(rowDetail(r)).toBe('0 B uploaded');
    expect(rowPercent(r)).toBe(100);
  });

  it('is not shown full, nor as "0 B of 0 B", before it is done', () => {
    for (const s of ['queued', 'testing', 'uploading', 'paused'] as const) {
      const r = row({ state: at(s) });
      expect(rowPercent(r), s).toBe(0);
      expect(rowDetail(r), s).toBe('Empty file (0 B)');
    }
  });
});

describe('a file with bytes', () => {
  it('tells the bytes acknowledged, and the speed only while uploading', () => {
    const r = row({ size: 300_000_000, acked: 7_000_000, speed: 500_000, eta: 120, state: at('uploading') });
    expect(rowPercent(r)).toBe(2);
    expect(rowDetail(r)).toMatch(/^6\.7 MiB of 286 MiB \(/);
    expect(rowDetail({ ...r, state: at('paused') })).toBe('6.7 MiB of 286 MiB');
  });
});
