import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { APP_JWT_BACKDATE_SECONDS, APP_JWT_LIFETIME_SECONDS, signAppJwt } from '../../src/git-host/app-jwt';
import { derLength, pkcs1ToPkcs8Der, toPkcs8Pem } from '../../src/git-host/private-key';
import { makeRsaKey, pem } from '../support/rsa-keys';

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

describe('GitHub App private keys: PKCS#1 (as GitHub hands them out) → PKCS#8 (what WebCrypto imports)', () => {
  it('DER lengths: short form below 128, long form above', () => {
    const cases = [
      { name: '0', length: 0, der: '00' },
      { name: '127', length: 127, der: '7f' },
      { name: '128', length: 128, der: '8180' },
      { name: '255', length: 255, der: '81ff' },
      { name: '256', length: 256, der: '820100' },
      { name: '1190 (RSA 2048)', length: 1190, der: '8204a6' },
      { name: '70000', length: 70000, der: '83011170' },
    ];
    for (const c of cases) expect({ name: c.name, der: hex(derLength(c.length)) }).toEqual({ name: c.name, der: c.der });
  });

  for (const bits of [2048, 4096]) {
    it(`wrapping a ${bits}-bit PKCS#1 key gives exactly the PKCS#8 bytes WebCrypto exports for it`, async () => {
      const key = await makeRsaKey(bits);
      expect(hex(pkcs1ToPkcs8Der(key.pkcs1Der))).toBe(hex(key.pkcs8Der));
      // the PEM path too, and a PKCS#8 PEM passes through unchanged
      expect(toPkcs8Pem(key.pkcs1Pem)).toBe(pem('PRIVATE KEY', key.pkcs8Der));
      expect(toPkcs8Pem(pem('PRIVATE KEY', key.pkcs8Der))).toBe(pem('PRIVATE KEY', key.pkcs8Der));
    });
  }

  it('an unreadable key is git_auth_failed naming the problem, never echoing the key', () => {
    const cases = [
      { name: 'no PEM block', pem: 'not a key' },
      { name: 'not base64', pem: '-----BEGIN RSA PRIVATE KEY-----\n!!!!\n-----END RSA PRIVATE KEY-----' },
      { name: 'not a SEQUENCE', pem: '-----BEGIN RSA PRIVATE KEY-----\nAQID\n-----END RSA PRIVATE KEY-----' },
      { name: 'another kind of key', pem: '-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----' },
    ];
    for (const c of cases) {
      let caught: any = null;
      try {
        toPkcs8Pem(c.pem);
      } catch (err) {
        caught = err;
      }
      expect({ name: c.name, code: caught?.code }).toEqual({ name: c.name, code: 'git_auth_failed' });
      expect(caught.message).not.toContain(c.pem.split('\n')[1] ?? c.pem);
    }
  });
});

describe('the app JWT', () => {
  it('RS256, signed with the app key (a PKCS#1 PEM), iss = app id, iat 60 s back, exp 9 min ahead (from the injected time)', async () => {
    const key = await makeRsaKey();
    const now = Date.UTC(2026, 0, 2, 3, 4, 5);
    const jwt = await signAppJwt('123456', key.pkcs1Pem, now);
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const seconds = Math.floor(now / 1000);
    expect(decodeJwt(jwt)).toEqual({ iss: '123456', iat: seconds - APP_JWT_BACKDATE_SECONDS, exp: seconds + APP_JWT_LIFETIME_SECONDS });
    // GitHub's rule: exp at most 10 minutes after now
    expect(APP_JWT_LIFETIME_SECONDS).toBeLessThanOrEqual(600);
    const { payload } = await jwtVerify(jwt, key.publicKey, { algorithms: ['RS256'], issuer: '123456', currentDate: new Date(now) });
    expect(payload.iss).toBe('123456');
    // another key does not verify it
    const other = await makeRsaKey();
    await expect(jwtVerify(jwt, other.publicKey, { currentDate: new Date(now) })).rejects.toThrow();
  });
});
