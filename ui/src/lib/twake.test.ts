import { describe, expect, test } from 'vitest';
import type { TwakeAccountInfo } from '../generated/TwakeAccountInfo';
import { afterDetect, afterSignIn, childPath, crumbs, looksLikeEmail, needsSignIn, normalFolder, parentPath, prefillFor, driveWords } from './twake';

const alice: TwakeAccountInfo = {
  name: 'alice@example.com@drive.example.com',
  server: 'https://drive.example.com',
  email: 'alice@example.com',
  company_id: 'c1',
  companies: [{ id: 'c1', name: 'Acme' }],
  signed_out: null,
};

describe('twake sign-in flow', () => {
  test('one company goes straight to the folder chooser, several ask first', () => {
    expect(afterSignIn(alice)).toEqual({ step: 'folder', account: alice });
    const two = { ...alice, companies: [...alice.companies, { id: 'c2', name: 'Beta' }] };
    expect(afterSignIn(two)).toEqual({ step: 'company', account: two });
  });

  test('folder paths are normal however they are typed', () => {
    expect(normalFolder('')).toBe('');
    expect(normalFolder('/')).toBe('');
    expect(normalFolder('Reports//2026/')).toBe('/Reports/2026');
    expect(childPath('', 'Reports')).toBe('/Reports');
    expect(childPath('/Reports', '2026')).toBe('/Reports/2026');
    expect(parentPath('/Reports/2026')).toBe('/Reports');
    expect(parentPath('/Reports')).toBe('');
    expect(driveWords('')).toBe('My Drive');
    expect(driveWords('/Reports/2026')).toBe('My Drive › Reports › 2026');
  });

  test('breadcrumbs start at My Drive', () => {
    expect(crumbs('/Reports/2026')).toEqual([
      { name: 'My Drive', path: '' },
      { name: 'Reports', path: '/Reports' },
      { name: '2026', path: '/Reports/2026' },
    ]);
  });

  test('a signed-out Twake target asks for a sign-in, prefilled with its account', () => {
    const t = {
      id: 'twake:a:/',
      kind: 'twake_drive' as const,
      name: 'Twake Drive — alice@example.com — /Drive',
      detail: 'https://drive.example.com',
      engine_label: 'twake:a:/',
      removable: true,
      account: alice.name,
      signed_out: 'the refresh token was refused',
    };
    expect(needsSignIn(t)).toBe(true);
    expect(needsSignIn({ ...t, signed_out: undefined })).toBe(false);
    expect(prefillFor(alice)).toEqual({ server: 'https://drive.example.com', email: 'alice@example.com' });
    expect(prefillFor(undefined)).toEqual({ server: '', email: '' });
  });
});

describe('after Continue', () => {
  test('a server with its own passwords gets the form, one behind a provider the browser wait', () => {
    expect(afterDetect({ server: 'https://d.example', kind: 'password', email: null })).toEqual({ step: 'sign_in' });
    expect(afterDetect({ server: 'https://d.example', kind: 'browser', email: null })).toEqual({ step: 'browser', server: 'https://d.example' });
    expect(afterDetect({ server: 'https://c.example', kind: 'cozy', email: null })).toEqual({ step: 'browser', server: 'https://c.example' });
  });

  test('tells an email from an address', () => {
    expect(looksLikeEmail(' alice@example.com ')).toBe(true);
    expect(looksLikeEmail('drive.example.com')).toBe(false);
    expect(looksLikeEmail('https://alice@drive.example.com')).toBe(false);
    expect(looksLikeEmail('a@b@c')).toBe(false);
  });
});
