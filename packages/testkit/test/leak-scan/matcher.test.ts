import { describe, expect, it } from 'vitest';
import { Matcher, MIN_SECRET_CHARS } from '../../src/leak-scan/matcher';
import { BROKER_KEY_PATTERN, DEFAULT_PATTERNS, fingerprint, JWT_PATTERN, normalizePatterns, REFRESH_CREDENTIAL_PATTERN } from '../../src/leak-scan/patterns';
import { mintCredentials, ORDINARY_TEXT } from './support';

describe('Matcher', () => {
  it('finds an exact secret in UTF-8 and in UTF-16LE, with the fingerprint of the secret', async () => {
    const c = await mintCredentials();
    const m = new Matcher([c.providerKey], []);
    const utf8 = m.match(Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(c.providerKey), Buffer.from([255])]));
    expect(utf8).toEqual([{ kind: 'secret', fingerprint: fingerprint(c.providerKey), offset: 3, length: c.providerKey.length, encoding: 'utf8' }]);
    const utf16 = m.match(Buffer.from(`xx${c.providerKey}`, 'utf16le'));
    expect(utf16).toMatchObject([{ kind: 'secret', encoding: 'utf16le', offset: 4 }]);
  });

  it('finds a JWT and a refresh credential by shape', async () => {
    const c = await mintCredentials();
    const m = new Matcher([], DEFAULT_PATTERNS);
    const found = m.matchText(`log: token=${c.accessToken} refresh=${c.refreshCredential};`);
    expect(found.map((f) => [f.kind, f.fingerprint])).toEqual([
      ['jwt', fingerprint(c.accessToken)],
      ['refresh_credential', fingerprint(c.refreshCredential)],
    ]);
  });

  it('the JWT and refresh shapes do not fire on ordinary text, ids, hashes or base64 data', () => {
    const m = new Matcher([], [...DEFAULT_PATTERNS, BROKER_KEY_PATTERN]);
    expect(m.matchText(ORDINARY_TEXT)).toEqual([]);
  });

  it('the shapes are anchored: a longer word that merely contains the prefix is not a credential', () => {
    const m = new Matcher([], normalizePatterns([REFRESH_CREDENTIAL_PATTERN]));
    expect(m.matchText(`xgtr_${'a'.repeat(43)}`)).toEqual([]);
    expect(m.matchText(` gtr_${'a'.repeat(43)}`)).toHaveLength(1);
  });

  it('refuses a secret too short to search for, naming its index and never its value', () => {
    const short = 'abc123';
    expect(short.length).toBeLessThan(MIN_SECRET_CHARS);
    let message = '';
    try {
      new Matcher(['long-enough-secret', short], []);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(`secret #2 is shorter than ${MIN_SECRET_CHARS} characters`);
  });

  it('redacts a secret or a credential shape out of a label', async () => {
    const c = await mintCredentials();
    const m = new Matcher([c.containerKey], [JWT_PATTERN]);
    const label = m.redact(`/tmp/${c.containerKey}/x-${c.accessToken}.log`);
    expect(label).toBe(`/tmp/<${fingerprint(c.containerKey)}>/x-<${fingerprint(c.accessToken)}>.log`);
  });

  it('normalizePatterns names bare RegExps and makes every pattern global', () => {
    const [a, b] = normalizePatterns([/abc/, { name: 'x', pattern: /def/i }]);
    expect([a?.name, a?.pattern.flags, b?.name, b?.pattern.flags]).toEqual(['pattern_0', 'g', 'x', 'gi']);
  });
});
