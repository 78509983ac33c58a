import { describe, expect, it } from 'vitest';
import type { AppSettings } from '../generated/AppSettings';
import { checkedSettings, draftFrom, settingsProblem, type SettingsDraft } from './settings';

const good: AppSettings = {
  chunk_size: 1048576,
  version: 1,
  parallel_chunks: 3,
  parallel_files: 2,
  bandwidth_limit: 0,
  changed_files: 'fail',
  close_to_tray: true,
  autostart: null,
  notifications: true,
  default_target: 'local',
  saved_targets: [],
  local_server_port: 0,
  watch_ignore: [],
  language: 'system',
  ca_file: '',
  proxy_url: '',
  proxy_user: '',
  pause_on_metered: true,
  pause_on_battery: true,
};

const with_ = (over: Partial<SettingsDraft>): SettingsDraft => ({ ...draftFrom(good), ...over });

describe('settings form checks', () => {
  it('accept the values the shell takes', () => {
    expect(settingsProblem(draftFrom(good))).toBeNull();
    expect(settingsProblem(with_({ parallel_chunks: 16, parallel_files: 8, speed_limit_kib: 125_000 }))).toBeNull();
  });

  it('refuse an empty or negative speed limit, naming the field and the range', () => {
    for (const v of [null, -1, 2.5]) {
      const p = settingsProblem(with_({ speed_limit_kib: v }));
      expect(p?.field).toBe('speed_limit_kib');
      expect(p?.message).toBe('Speed limit must be a whole number 0 or more');
      expect(p?.hint).toContain('0 for no limit');
    }
  });

  it('refuse counts out of range with the label the form shows', () => {
    expect(settingsProblem(with_({ parallel_chunks: 40 }))?.message).toBe('Chunks sent at once must be a whole number from 0 to 16');
    expect(settingsProblem(with_({ parallel_chunks: null }))?.field).toBe('parallel_chunks');
    expect(settingsProblem(with_({ parallel_files: 9 }))?.message).toBe('Files uploaded at once must be a whole number from 0 to 8');
    expect(settingsProblem(with_({ parallel_chunks: 0, parallel_files: 0 })), '0 follows the link').toBeNull();
  });

  it('show the speed limit in KiB/s, the units of every size in the window, and save it as the shell counts it', () => {
    expect(draftFrom({ ...good, bandwidth_limit: 1_024_000 }).speed_limit_kib).toBe(1000);
    expect(checkedSettings(with_({ speed_limit_kib: 500 })).bandwidth_limit).toBe(512_000);
    expect(checkedSettings(with_({ speed_limit_kib: 0 })).bandwidth_limit).toBe(0);
    expect('speed_limit_kib' in checkedSettings(with_({ speed_limit_kib: 5 }))).toBe(false);
    // Whatever is saved reads back as what was typed.
    for (const kib of [1, 3, 77, 500, 999, 12_345]) {
      expect(draftFrom(checkedSettings(with_({ speed_limit_kib: kib }))).speed_limit_kib).toBe(kib);
    }
  });

  it('never advise a restart for a mistake in the form', () => {
    const p = settingsProblem(with_({ parallel_files: -3, speed_limit_kib: null }));
    expect(`${p?.message} ${p?.hint}`).not.toMatch(/restart|invalid|null|u64/i);
  });
});
