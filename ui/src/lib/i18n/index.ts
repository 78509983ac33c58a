// Reading the catalogues: `t` for a text, `tn` for a counted one (Intl.PluralRules picks the
// form: French says "0 fichier", English "0 files"), and `num` for numbers as the language
// writes them ("1,200" / "1 200", "7.3" / "7,3"). Values fill `{name}` in the templates.

import { en, type Catalogue, type PluralKey, type TextKey } from './en';
import { fr } from './fr';
import { locale, type Lang } from './locale.svelte';

export { locale, languageFor, setLang, type Lang } from './locale.svelte';

export const CATALOGUES: Record<Lang, Catalogue> = { en, fr };

/** The BCP 47 tag each language formats numbers with. */
const TAGS: Record<Lang, string> = { en: 'en-US', fr: 'fr-FR' };

type Values = Record<string, string | number>;

const numberFormats = new Map<string, Intl.NumberFormat>();
const pluralRules = new Map<Lang, Intl.PluralRules>();

/** `n` grouped and with `digits` decimals, in the current language. */
export function num(n: number, digits = 0): string {
  const key = `${locale.lang}:${digits}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(TAGS[locale.lang], { minimumFractionDigits: digits, maximumFractionDigits: digits });
    numberFormats.set(key, f);
  }
  return f.format(n);
}

const dateFormats = new Map<Lang, Intl.DateTimeFormat>();

/** A moment (milliseconds since 1970) as a date and time in the current language:
 * "Dec 3, 2026, 1:18 PM" / "3 déc. 2026, 13:18", in the computer's time zone. */
export function dateTime(ms: number): string {
  let f = dateFormats.get(locale.lang);
  if (!f) {
    f = new Intl.DateTimeFormat(TAGS[locale.lang], { dateStyle: 'medium', timeStyle: 'short' });
    dateFormats.set(locale.lang, f);
  }
  return f.format(ms);
}

function fill(template: string, values: Values | undefined): string {
  if (!values) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = values[name];
    if (v === undefined) return whole;
    return typeof v === 'number' ? num(v) : v;
  });
}

/** The text `key` in the current language, its `{name}`s filled from `values`. */
export function t(key: TextKey, values?: Values): string {
  return fill(CATALOGUES[locale.lang][key], values);
}

/** The counted text `key` for `n` ("3 files"), `{n}` filled with the grouped number. */
export function tn(key: PluralKey, n: number, values?: Values): string {
  let rules = pluralRules.get(locale.lang);
  if (!rules) {
    rules = new Intl.PluralRules(TAGS[locale.lang]);
    pluralRules.set(locale.lang, rules);
  }
  const forms = CATALOGUES[locale.lang][key];
  const form = rules.select(n) === 'one' ? forms.one : forms.other;
  return fill(form, { n, ...values });
}

/** Each language named in itself, as language choices are shown in every language. */
export const LANGUAGE_NAMES: Record<Lang, string> = { en: 'English', fr: 'Français' };
