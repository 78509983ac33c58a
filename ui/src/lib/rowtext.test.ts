import { describe, expect, it } from 'vitest';
import type { FailureKind } from '../generated/FailureKind';
import type { FileState } from '../generated/FileState';
import { rowDetail, rowPercent, stateWords } from './rowtext';
import { row } from './testdata';

const at = (state: FileState['state']) => ({ state }) as FileState;

describe('a skipped file', () => {
  it('says it is already on the server, with the reason as its detail', () => {
    const reason = "'notes.txt' is already in the Drive folder '/' (collision policy skip)";
    const r = row({ size: 5000, state: { state: 'skipped', reason } });
    expect(stateWords(r.state)).toBe('Skipped — already on the server');
    expect(rowDetail(r)).toBe(reason);
  });
});

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

describe('a failed file', () => {
  const failed = (kind: FailureKind, retryable = false): FileState => ({
    state: 'failed',
    kind,
    reason: 'the server said no',
    retryable,
  });

  it('gets the advice of its kind, whatever its reason says', () => {
    expect(rowDetail(row({ state: failed('signed_out') }))).toBe(
      'the server said no. Sign in again; the upload continues by itself after that.',
    );
    expect(rowDetail(row({ state: failed('quota') }))).toMatch(/Free some space/);
    expect(rowDetail(row({ state: failed('refused', true) }))).toMatch(/Retry when the problem is solved/);
    expect(rowDetail(row({ state: failed('refused') }))).toMatch(/Check the file or the target/);
  });

  it('has advice for every kind in every language', () => {
    const kinds: FailureKind[] = [
      'signed_out', 'quota', 'no_write_access', 'not_found', 'file_changed', 'unreadable',
      'too_large', 'untrusted', 'unreachable', 'server_error', 'refused',
    ];
    for (const k of kinds) expect(rowDetail(row({ state: failed(k) })), k).not.toMatch(/hint\.|undefined/);
  });
});
