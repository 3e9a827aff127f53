import { describe, expect, it } from 'vitest';
import { bearerToken } from '../../src/auth';
import { codeOfSync } from './support/fixtures';

describe('bearerToken', () => {
  const ok = [
    { name: 'JWT', header: 'Bearer aaa.bbb.ccc', token: 'aaa.bbb.ccc' },
    { name: 'scheme is case-insensitive', header: 'bearer aaa.bbb.ccc', token: 'aaa.bbb.ccc' },
    { name: 'extra spaces', header: '  Bearer    gtr_abc-DEF_123  ', token: 'gtr_abc-DEF_123' },
  ];
  it.each(ok)('extracts: $name', ({ header, token }) => expect(bearerToken(header)).toBe(token));

  const failing = [
    { name: 'undefined', header: undefined, code: 'token_missing' },
    { name: 'null', header: null, code: 'token_missing' },
    { name: 'empty', header: '', code: 'token_missing' },
    { name: 'blank', header: '   ', code: 'token_missing' },
    { name: 'scheme only', header: 'Bearer', code: 'token_missing' },
    { name: 'scheme and spaces', header: 'Bearer   ', code: 'token_missing' },
    { name: 'basic scheme', header: 'Basic dXNlcjpwYXNz', code: 'token_malformed' },
    { name: 'no scheme', header: 'aaa.bbb.ccc', code: 'token_malformed' },
    { name: 'two tokens', header: 'Bearer a b', code: 'token_malformed' },
    { name: 'bad characters', header: 'Bearer a"b', code: 'token_malformed' },
    { name: 'too long', header: `Bearer ${'a'.repeat(9000)}`, code: 'token_malformed' },
  ];
  it.each(failing)('rejects: $name → $code', ({ header, code }) => expect(codeOfSync(() => bearerToken(header))).toBe(code));
});
