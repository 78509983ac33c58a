// The language the window speaks, as reactive state: every text read through `t` in a
// component or a `$derived` is drawn again when it changes, so a new choice in Settings
// applies at once, without a reload. The shell speaks the same language in the tray and
// notifications (src-tauri/src/i18n.rs).

import type { Language } from '../../generated/Language';

export type Lang = 'en' | 'fr';

export const locale = $state<{ lang: Lang }>({ lang: 'en' });

/** The language a setting speaks: the chosen one, else the OS locale's the shell read. */
export function languageFor(setting: Language | undefined, system: string | undefined): Lang {
  if (setting === 'en' || setting === 'fr') return setting;
  return system === 'fr' ? 'fr' : 'en';
}

export function setLang(lang: Lang): void {
  locale.lang = lang;
  if (typeof document !== 'undefined') document.documentElement.lang = lang;
}
