import { describe, expect, it } from 'vitest';
import { count } from './words';

describe('counted nouns', () => {
  it('say one in the singular and group thousands', () => {
    expect(count(0, 'file')).toBe('0 files');
    expect(count(1, 'file')).toBe('1 file');
    expect(count(2, 'file')).toBe('2 files');
    expect(count(10_000, 'file')).toBe('10,000 files');
    expect(count(1, 'company', 'companies')).toBe('1 company');
    expect(count(3, 'company', 'companies')).toBe('3 companies');
  });
});
