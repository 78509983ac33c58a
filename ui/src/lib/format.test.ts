import { describe, expect, it } from 'vitest';
import {
  formatBinary,
  formatBytes,
  formatDuration,
  formatSpeed,
  percent,
  progressText,
  splitRelative,
} from './format';

describe('sizes', () => {
  it('use binary units, as the command line and the chunk sizes do, with at most three significant figures', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(7_340_032)).toBe('7.0 MiB');
    expect(formatBytes(300_000_000)).toBe('286 MiB');
    expect(formatBytes(1_234_567_890)).toBe('1.1 GiB');
  });
  it('say 150 MiB for a 150 MiB file, as a chunk size of that many bytes reads', () => {
    expect(formatBytes(150 * 1024 * 1024)).toBe('150 MiB');
    expect(formatBinary(150 * 1024 * 1024)).toBe('150 MiB');
  });
  it('never print 1000 or more of a unit', () => {
    expect(formatBytes(1000)).toBe('1.0 KiB');
    expect(formatBytes(1_048_000)).toBe('1.0 MiB');
  });
  it('treat nonsense as zero', () => {
    expect(formatBytes(-5)).toBe('0 B');
    expect(formatBytes(Number.NaN)).toBe('0 B');
  });
});

describe('speed and time left', () => {
  it('speeds are sizes per second', () => {
    expect(formatSpeed(512_000)).toBe('500 KiB/s');
  });
  it('durations round up and grow units', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(44.2)).toBe('45 s');
    expect(formatDuration(61)).toBe('2 min');
    expect(formatDuration(3600)).toBe('1 h');
    expect(formatDuration(3900)).toBe('1 h 5 min');
    expect(formatDuration(5 * 86400)).toBe('5 days');
  });
});

describe('progress text', () => {
  it('reads like the brief', () => {
    expect(progressText(7 * 1024 * 1024, 300 * 1024 * 1024, 512_000, 120)).toBe(
      '7.0 MiB of 300 MiB (500 KiB/s) · 2 min left',
    );
  });
  it('never passes 100 % even when the server acknowledged more than the size', () => {
    expect(progressText(400, 300, 10, 5)).toBe('300 B of 300 B');
    expect(percent(400, 300)).toBe(100);
    expect(percent(299, 300)).toBe(99);
  });
  it('hides speed and time left while unknown', () => {
    expect(progressText(0, 1000, 0, null)).toBe('0 B of 1.0 KiB');
  });
  it('an empty file is 100 % done once acknowledged', () => {
    expect(percent(0, 0)).toBe(100);
  });
});

describe('relative paths', () => {
  it('split into name and folder', () => {
    expect(splitRelative('photos/2024/a.jpg')).toEqual({ name: 'a.jpg', folder: 'photos/2024' });
    expect(splitRelative('a.jpg')).toEqual({ name: 'a.jpg', folder: '' });
  });
});

describe('chunk sizes', () => {
  it('use binary units, as they are powers of two', () => {
    expect(formatBinary(256 * 1024)).toBe('256 KiB');
    expect(formatBinary(1024 * 1024)).toBe('1 MiB');
    expect(formatBinary(1536 * 1024)).toBe('1.5 MiB');
  });
});
