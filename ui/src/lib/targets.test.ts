import { describe, expect, it } from 'vitest';
import type { TargetInfo } from '../generated/TargetInfo';
import { readableTarget, targetLabel } from './targets';

const reports: TargetInfo = {
  id: 'twake:alice@example.com@drive.example.com:8443:/Reports/2026',
  kind: 'twake_drive',
  name: 'Twake Drive — alice@example.com — /Drive/Reports/2026',
  detail: 'https://drive.example.com:8443',
  engine_label: 'twake:alice@example.com@drive.example.com:8443:/Reports/2026',
  removable: true,
  account: 'alice@example.com@drive.example.com:8443',
};
const root: TargetInfo = { ...reports, id: 'twake:alice@example.com@drive.example.com:8443:/', engine_label: 'twake:alice@example.com@drive.example.com:8443:/', name: 'Twake Drive — alice@example.com — /Drive' };
const local: TargetInfo = {
  id: 'local',
  kind: 'local_test_server',
  name: 'Local test server',
  detail: 'Keeps files in /x',
  engine_label: 'http://127.0.0.1:41000/upload',
  removable: false,
};

describe('target labels', () => {
  it('name a Drive folder from My Drive down, short for rows and in full for menus', () => {
    expect(targetLabel(reports)).toEqual({
      short: 'My Drive › Reports › 2026',
      full: 'Twake Drive — alice@example.com — My Drive › Reports › 2026',
    });
    expect(targetLabel(root).short).toBe('My Drive');
  });

  it('leave other targets as the shell names them', () => {
    expect(targetLabel(local)).toEqual({ short: 'Local test server', full: 'Local test server' });
  });

  it('never show the account id (email@host:port), whatever name the shell sends', () => {
    const known = [local, reports, root];
    expect(readableTarget('Twake Drive — alice@example.com — /Drive/Reports/2026', known)).toEqual(targetLabel(reports));
    // The watched folders' name for a target today.
    const watched = readableTarget('Twake Drive /Reports (alice@example.com@drive.example.com:8443)', known);
    expect(watched).toEqual({ short: 'My Drive › Reports', full: 'Twake Drive — alice@example.com — My Drive › Reports' });
    expect(readableTarget('Twake Drive / (bob@example.org@drive.example.org)', []).short).toBe('My Drive');
    expect(readableTarget('http://127.0.0.1:9/upload', known).full).toBe('http://127.0.0.1:9/upload');
    for (const l of [watched, readableTarget('Twake Drive / (bob@example.org@drive.example.org)', [])]) {
      expect(`${l.short} ${l.full}`).not.toMatch(/@drive\.example\.(com|org)/);
    }
  });
});
