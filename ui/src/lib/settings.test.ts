import { describe, expect, it } from 'vitest';
import type { AppSettings } from '../generated/AppSettings';
import { settingsProblem, type SettingsDraft } from './settings';

const good: AppSettings = {
  chunk_size: 1048576,
  parallel_chunks: 3,
  parallel_files: 2,
  bandwidth_limit_kbps: 0,
  changed_files: 'fail',
  close_to_tray: true,
  notifications: true,
  default_target: 'local',
  saved_targets: [],
  local_server_port: 0,
  watch_ignore: [],
};

const with_ = (over: Partial<SettingsDraft>): SettingsDraft => ({ ...good, ...over });

describe('settings form checks', () => {
  it('accept the values the shell takes', () => {
    expect(settingsProblem(good)).toBeNull();
    expect(settingsProblem(with_({ parallel_chunks: 16, parallel_files: 8, bandwidth_limit_kbps: 125_000 }))).toBeNull();
  });

  it('refuse an empty or negative speed limit, naming the field and the range', () => {
    for (const v of [null, -1, 2.5]) {
      const p = settingsProblem(with_({ bandwidth_limit_kbps: v }));
      expect(p?.field).toBe('bandwidth_limit_kbps');
      expect(p?.message).toBe('Speed limit must be a whole number 0 or more');
      expect(p?.hint).toContain('0 for no limit');
    }
  });

  it('refuse counts out of range with the label the form shows', () => {
    expect(settingsProblem(with_({ parallel_chunks: 40 }))?.message).toBe('Chunks sent at once must be a whole number from 1 to 16');
    expect(settingsProblem(with_({ parallel_chunks: null }))?.field).toBe('parallel_chunks');
    expect(settingsProblem(with_({ parallel_files: 0 }))?.message).toBe('Files uploaded at once must be a whole number from 1 to 8');
  });

  it('never advise a restart for a mistake in the form', () => {
    const p = settingsProblem(with_({ parallel_files: -3, bandwidth_limit_kbps: null }));
    expect(`${p?.message} ${p?.hint}`).not.toMatch(/restart|invalid|null|u64/i);
  });
});
