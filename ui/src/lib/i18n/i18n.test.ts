/// <reference types="vite/client" />
import { afterEach, describe, expect, it } from 'vitest';
import { CATALOGUES, languageFor, setLang, t, tn } from '.';
import type { Plural } from './en';

/** The window's sources as text, by path: the markup and code the checks below read. */
const SOURCES = import.meta.glob(['../../App.svelte', '../../components/*.svelte', '../*.ts', '!../*.test.ts', '!../testdata.ts'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;
const name = (p: string) => p.slice(p.lastIndexOf('/') + 1);

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

function forms(v: string | Plural): string[] {
  return typeof v === 'string' ? [v] : [v.one, v.other];
}

describe('the catalogues', () => {
  it('have the same keys, none empty, with the same values to fill in each language', () => {
    const { en, fr } = CATALOGUES;
    expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort());
    for (const [key, english] of Object.entries(en)) {
      const french = fr[key as keyof typeof fr];
      expect(typeof french, key).toBe(typeof english);
      for (const text of [...forms(english), ...forms(french)]) expect(text.trim(), key).not.toBe('');
      const want = placeholders(forms(english).join(' '));
      for (const text of forms(french)) {
        // A plural's singular may leave out {n} ("This item"), never add a value.
        for (const p of placeholders(text)) expect(want, `${key}: {${p}}`).toContain(p);
      }
      expect(placeholders(forms(french).join(' ')), key).toEqual(want);
    }
  });
});

/** Text a person reads in a component's markup that does not come from the catalogue. */
function hardCoded(source: string): string[] {
  let s = source
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    // Code samples and names are the same in every language.
    .replace(/<code>[^<]*<\/code>/g, '')
    .replace(/Twake Drive|Twake Uploader|Resumable\.js|Flow\.js/g, '');
  // Expressions, nested braces included: what they show comes from `t`, data or the shell.
  let out = '';
  let depth = 0;
  for (const c of s) {
    if (c === '{') depth++;
    if (depth === 0) out += c;
    if (c === '}') depth = Math.max(0, depth - 1);
  }
  s = out;
  const found: string[] = [];
  const words = /[A-Za-zÀ-ÿ]{2,}/;
  // Attributes people read (or hear): labels, tooltips, placeholders that are words.
  for (const m of s.matchAll(/\s(aria-label|aria-roledescription|title|alt)="([^"]*)"/g)) {
    if (words.test(m[2])) found.push(`${m[1]}="${m[2]}"`);
  }
  const text = s.replace(/<[^>]*>/g, '\n');
  for (const line of text.split('\n')) if (words.test(line)) found.push(line.trim());
  return found;
}

describe('components', () => {
  it('show no text that is not in the catalogues', () => {
    const svelte = Object.entries(SOURCES).filter(([p]) => p.endsWith('.svelte'));
    expect(svelte.length).toBeGreaterThan(10);
    const found = svelte.flatMap(([p, source]) => hardCoded(source).map((h) => `${name(p)}: ${h}`));
    expect(found).toEqual([]);
  });

  it('the check finds text, labels and tooltips written in the markup', () => {
    const sample = `<script>const a = 'Ignored';</script>
      <h2>{t('x')}</h2><p>Hello {name}</p><button title="Close" aria-label={t('y')}>{t('z')}</button>
      <code>resumableChunkNumber</code> · {n} %`;
    expect(hardCoded(sample)).toEqual(['title="Close"', 'Hello']);
  });
});

/** Sentences in quotes in code ('Could not pause'), comments left out: text for people. */
function sentences(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1').replace(/<!--[\s\S]*?-->/g, '');
  return [...code.matchAll(/(['"`])([A-Z][a-z]+(?: [a-zA-Z’']+){2,}[^'"`]*)\1/g)].map((m) => m[2]);
}

describe('code', () => {
  it('builds no sentence outside the catalogues', () => {
    expect(Object.keys(SOURCES).filter((p) => p.endsWith('.ts')).length).toBeGreaterThan(10);
    const found = Object.entries(SOURCES).flatMap(([p, source]) => sentences(source).map((h) => `${name(p)}: ${h}`));
    expect(found).toEqual([]);
  });

  it('the check finds a sentence in quotes but not in comments', () => {
    expect(sentences(`// 'Not this one here'\nsay('Could not pause it');`)).toEqual(['Could not pause it']);
  });
});

describe('French', () => {
  afterEach(() => setLang('en'));

  it('follows the setting, else the OS locale', () => {
    expect(languageFor('system', 'fr')).toBe('fr');
    expect(languageFor('system', 'en')).toBe('en');
    expect(languageFor('en', 'fr')).toBe('en');
    expect(languageFor('fr', 'en')).toBe('fr');
    expect(languageFor(undefined, undefined)).toBe('en');
  });

  it('counts with the French plural rule and groups thousands with a narrow no-break space', () => {
    setLang('fr');
    expect(tn('count.file', 0)).toBe('0\u00a0fichier');
    expect(tn('count.file', 1)).toBe('1\u00a0fichier');
    expect(tn('count.file', 2)).toBe('2\u00a0fichiers');
    expect(tn('count.file', 10_000)).toBe('10\u202f000\u00a0fichiers');
    expect(t('app.queueLabel', { files: tn('count.file', 3) })).toBe('File d’envoi, 3\u00a0fichiers');
  });

  it('counts in English as before', () => {
    expect(tn('count.file', 0)).toBe('0 files');
    expect(tn('count.file', 1)).toBe('1 file');
    expect(tn('count.file', 10_000)).toBe('10,000 files');
    expect(tn('count.chunk', 1)).toBe('1 chunk');
  });
});
