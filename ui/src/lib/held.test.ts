import { describe, expect, it } from 'vitest';
import { EMPTY_TOTALS } from './queue';
import { heldText, queueHeldText } from './held';
import { setLang } from './i18n';

describe('why the queue waits', () => {
  it('names each condition, both together, and nothing when none holds', () => {
    setLang('en');
    expect(heldText(['metered'])).toBe('Paused: on a metered connection');
    expect(heldText(['on_battery'])).toBe('Paused: on battery');
    expect(heldText(['metered', 'on_battery'])).toBe('Paused: on battery and a metered connection');
    expect(heldText([])).toBeNull();
    setLang('fr');
    expect(heldText(['on_battery'])).toBe('En pause\u00a0: sur batterie');
    expect(heldText(['metered'])).toBe('En pause\u00a0: connexion limitée');
    setLang('en');
  });

  it('is said only while files are left to send', () => {
    const waiting = { ...EMPTY_TOTALS, files: 3, files_done: 1, held: ['on_battery' as const] };
    expect(queueHeldText(waiting)).toBe('Paused: on battery');
    expect(queueHeldText({ ...waiting, files_done: 2, files_failed: 1 })).toBeNull();
    expect(queueHeldText({ ...waiting, held: [] })).toBeNull();
    expect(queueHeldText(EMPTY_TOTALS)).toBeNull();
  });
});
