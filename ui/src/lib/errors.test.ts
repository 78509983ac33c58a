import { afterEach, describe, expect, it, vi } from 'vitest';
import { asUserError, unexpected } from './errors';

describe('command errors', () => {
  afterEach(() => vi.restoreAllMocks());

  it('keep what the shell wrote for the person', () => {
    const e = { message: 'Cannot reach the server https://x (connection refused).', hint: 'Check the address.' };
    expect(asUserError(e)).toEqual(e);
  });

  it('never show Tauri’s raw argument errors, nor advise a restart', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    for (const raw of [
      'invalid args `settings` for command `save_settings`: invalid type: null, expected u64',
      'command save_thing not found',
      new Error('IPC channel closed'),
      undefined,
      { message: 'half an error' },
    ]) {
      const shown = asUserError(raw);
      expect(shown).toEqual(unexpected());
      expect(`${shown.message} ${shown.hint}`).not.toMatch(/invalid args|command|restart|undefined/i);
    }
  });
});
