import { describe, expect, it } from 'vitest';
import { serverAddress, uploadAddress } from './address';

describe('server addresses as people type them', () => {
  it('try a bare host as https', () => {
    expect(serverAddress('drive.example.com')).toEqual({ url: 'https://drive.example.com' });
    expect(serverAddress('  drive.example.com:8443 ')).toEqual({ url: 'https://drive.example.com:8443' });
    expect(serverAddress('http://127.0.0.1:4000')).toEqual({ url: 'http://127.0.0.1:4000' });
  });

  it('use the origin of an address copied from the browser', () => {
    expect(serverAddress('https://drive.example.com/drive/shared/abc')).toEqual({ url: 'https://drive.example.com' });
    expect(serverAddress('https://drive.example.com/#/client/d1/v/folder')).toEqual({ url: 'https://drive.example.com' });
    expect(serverAddress('drive.example.com/login?next=/drive')).toEqual({ url: 'https://drive.example.com' });
    expect(serverAddress('HTTPS://Drive.Example.com/')).toEqual({ url: 'https://drive.example.com' });
  });

  it('say what is wrong in words, never the URL parser’s jargon', () => {
    for (const typed of ['drive example com', '', '   ', 'https://', 'ftp://drive.example.com', 'https://exa mple.com/x']) {
      const r = serverAddress(typed);
      expect('error' in r, typed).toBe(true);
      if (!('error' in r)) continue;
      expect(`${r.error.message} ${r.error.hint}`).not.toMatch(/relative URL|without a base|invalid URL/i);
      expect(r.error.hint).toContain('https://drive.example.com');
    }
    const r = serverAddress('drive example com');
    expect('error' in r && r.error.message).toBe("'drive example com' is not a server address");
    const empty = serverAddress('');
    expect('error' in empty && empty.error.message).toBe('Type the server address');
    const ftp = serverAddress('ftp://drive.example.com');
    expect('error' in ftp && ftp.error.message).toContain('https://');
  });
});

describe('upload addresses (Resumable.js / Flow.js servers)', () => {
  it('keep their path, and are tried as https without a scheme', () => {
    expect(uploadAddress('uploads.example.com/upload')).toEqual({ url: 'https://uploads.example.com/upload' });
    expect(uploadAddress(' http://127.0.0.1:8080/upload?x=1 ')).toEqual({ url: 'http://127.0.0.1:8080/upload?x=1' });
  });

  it('say what is wrong in words', () => {
    const r = uploadAddress('not an address');
    expect('error' in r && r.error.message).toBe("'not an address' is not a server address");
    expect('error' in r && r.error.hint).toContain('https://example.com/upload');
    const empty = uploadAddress('');
    expect('error' in empty && empty.error.message).toBe('Type the upload address');
  });
});
