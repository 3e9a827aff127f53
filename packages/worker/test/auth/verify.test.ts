import { AGENT_AUDIENCE, CredentialError, TOKEN_ISSUER, USER_AUDIENCE } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { mintAgentAccessToken, mintUserToken, verifyAgentAccessToken, verifyUserToken } from '../../src/auth';
import { agentClaims, codeOf, craftToken, joseToken, makeConfig, SECRETS, seededBytes, subject, T0 } from './support/fixtures';

const TTL = 3600;
const config = makeConfig(['k1', 'k2'], 'k2', TTL);
const iat = Math.floor(T0 / 1000);

/** A complete, valid agent claim set at T0. */
const claims = (overrides: Record<string, unknown> = {}) => agentClaims(TTL, overrides);
function without(key: string): Record<string, unknown> {
  const c = claims();
  delete c[key];
  return c;
}
const HEADER = { alg: 'HS256', kid: 'k2', typ: 'JWT' };

describe('verifyAgentAccessToken', () => {
  it('accepts a freshly minted token and returns its claims', async () => {
    const minted = await mintAgentAccessToken(config, subject(), { ttlSeconds: TTL, now: T0, randomBytes: seededBytes(1) });
    const verified = await verifyAgentAccessToken(config, minted.accessToken, { now: T0 });
    expect(verified).toMatchObject({ sub: 'ag_polecat01', townId: 'town_abc123', gen: 1, iss: TOKEN_ISSUER, aud: AGENT_AUDIENCE, jti: minted.jti });
    expect(minted.accessTokenExpiresAt - minted.accessTokenIssuedAt).toBe(TTL * 1000);
    const [headerPart] = minted.accessToken.split('.');
    expect(JSON.parse(atob(headerPart!.replace(/-/g, '+').replace(/_/g, '/')))).toEqual({ alg: 'HS256', kid: 'k2', typ: 'JWT' });
  });

  it('accepts a hand-crafted token equal to what mint produces (fixture sanity)', async () => {
    const token = await craftToken(HEADER, claims(), SECRETS.k2);
    await expect(verifyAgentAccessToken(config, token, { now: T0 })).resolves.toMatchObject({ sub: 'ag_polecat01' });
  });

  it('accepts a token of an older key still in the ring', async () => {
    const token = await craftToken({ ...HEADER, kid: 'k1' }, claims(), SECRETS.k1);
    await expect(verifyAgentAccessToken(config, token, { now: T0 })).resolves.toMatchObject({ gen: 1 });
  });

  const failures: { name: string; token: () => Promise<string>; now?: number; code: string }[] = [
    { name: 'no token', token: async () => '', code: 'token_missing' },
    { name: 'one segment', token: async () => 'abcdef', code: 'token_malformed' },
    { name: 'four segments', token: async () => `${await craftToken(HEADER, claims(), SECRETS.k2)}.x`, code: 'token_malformed' },
    { name: 'header not base64url', token: async () => '!!!.e30.abc', code: 'token_malformed' },
    { name: 'header not JSON', token: async () => `${btoa('not json')}.e30.abc`, code: 'token_malformed' },
    { name: 'payload not JSON (validly signed)', token: async () => signedRaw(HEADER, 'not json'), code: 'token_malformed' },
    { name: 'alg none', token: () => craftToken({ alg: 'none', kid: 'k2', typ: 'JWT' }, claims(), null), code: 'token_malformed' },
    { name: 'alg HS512 with the right secret', token: () => joseToken('HS512', 'k2', SECRETS.k2, claims()), code: 'token_malformed' },
    {
      name: 'alg RS256 header, HMAC signature',
      token: () => craftToken({ alg: 'RS256', kid: 'k2', typ: 'JWT' }, claims(), SECRETS.k2),
      code: 'token_malformed',
    },
    { name: 'no alg', token: () => craftToken({ kid: 'k2', typ: 'JWT' }, claims(), SECRETS.k2), code: 'token_malformed' },
    { name: 'no kid', token: () => craftToken({ alg: 'HS256', typ: 'JWT' }, claims(), SECRETS.k2), code: 'token_malformed' },
    { name: 'no typ', token: () => craftToken({ alg: 'HS256', kid: 'k2' }, claims(), SECRETS.k2), code: 'token_malformed' },
    { name: 'bad signature (other secret)', token: () => craftToken(HEADER, claims(), SECRETS.k1), code: 'token_bad_signature' },
    { name: 'tampered payload', token: () => tampered(), code: 'token_bad_signature' },
    { name: 'unknown kid', token: () => craftToken({ ...HEADER, kid: 'k3' }, claims(), SECRETS.k3), code: 'token_unknown_key' },
    { name: 'expired beyond tolerance', token: () => craftToken(HEADER, claims({ iat: iat - TTL - 61, exp: iat - 61 }), SECRETS.k2), code: 'token_expired' },
    { name: 'wrong audience (a user token)', token: () => userToken(), code: 'token_malformed' },
    { name: 'wrong issuer', token: () => craftToken(HEADER, claims({ iss: 'someone-else' }), SECRETS.k2), code: 'token_malformed' },
    { name: 'audience array without ours', token: () => craftToken(HEADER, claims({ aud: [USER_AUDIENCE] }), SECRETS.k2), code: 'token_malformed' },
    { name: 'missing claim: townId', token: () => craftToken(HEADER, without('townId'), SECRETS.k2), code: 'token_malformed' },
    { name: 'missing claim: gen', token: () => craftToken(HEADER, without('gen'), SECRETS.k2), code: 'token_malformed' },
    { name: 'missing claim: exp', token: () => craftToken(HEADER, without('exp'), SECRETS.k2), code: 'token_malformed' },
    { name: 'missing claim: iat', token: () => craftToken(HEADER, without('iat'), SECRETS.k2), code: 'token_malformed' },
    { name: 'missing claim: rigId (null is required, not absent)', token: () => craftToken(HEADER, without('rigId'), SECRETS.k2), code: 'token_malformed' },
    { name: 'invalid claim: role', token: () => craftToken(HEADER, claims({ role: 'admin' }), SECRETS.k2), code: 'token_malformed' },
    { name: 'invalid claim: gen 0', token: () => craftToken(HEADER, claims({ gen: 0 }), SECRETS.k2), code: 'token_malformed' },
    { name: 'invalid claim: sub not an id', token: () => craftToken(HEADER, claims({ sub: '../etc' }), SECRETS.k2), code: 'token_malformed' },
    {
      name: 'too old by maxTokenAge (iat older than TTL + tolerance, exp still ahead)',
      token: () => craftToken(HEADER, claims({ iat: iat - TTL - 61, exp: iat + 600 }), SECRETS.k2),
      code: 'token_expired',
    },
    { name: 'too long', token: async () => `${'a'.repeat(3000)}.${'b'.repeat(3000)}.c`, code: 'token_malformed' },
  ];
  it.each(failures)('rejects: $name → $code', async ({ token, now, code }) => {
    const error = await verifyAgentAccessToken(config, await token(), { now: now ?? T0 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CredentialError);
    expect((error as CredentialError).code).toBe(code);
  });

  it('the max-age boundary is TTL + tolerance, from the same policy TTL', async () => {
    const atEdge = await craftToken(HEADER, claims({ iat: iat - TTL - 60, exp: iat + 600 }), SECRETS.k2);
    await expect(verifyAgentAccessToken(config, atEdge, { now: T0 })).resolves.toBeTruthy();
    const shorter = makeConfig(['k1', 'k2'], 'k2', 600); // a redeploy with a shorter TTL retires older tokens
    const old = await craftToken(HEADER, claims({ iat: iat - 700, exp: iat + 600 }), SECRETS.k2);
    expect(await codeOf(verifyAgentAccessToken(shorter, old, { now: T0 }))).toBe('token_expired');
  });

  it('error messages never contain the token', async () => {
    const token = await craftToken(HEADER, claims({ exp: iat - 100 }), SECRETS.k2);
    const error = await verifyAgentAccessToken(config, token, { now: T0 }).catch((e: Error) => e);
    expect(String((error as Error).message)).not.toContain(token.split('.')[1]!);
  });
});

describe('clock skew (tolerance 60 s)', () => {
  const S = 1000;
  const cases: { name: string; mintOffsetMs: number; verifyAfterMs: number; code: string | null }[] = [
    { name: 'minter +60 s, verified at once', mintOffsetMs: 60 * S, verifyAfterMs: 0, code: null },
    { name: 'minter −60 s, verified at once', mintOffsetMs: -60 * S, verifyAfterMs: 0, code: null },
    { name: 'minter +60 s, verified near exp', mintOffsetMs: 60 * S, verifyAfterMs: TTL * S, code: null },
    { name: 'minter −60 s, verified 1 s before exp + tolerance', mintOffsetMs: -60 * S, verifyAfterMs: TTL * S - 1 * S, code: null },
    { name: 'minter +61 s: iat in the future beyond tolerance', mintOffsetMs: 61 * S, verifyAfterMs: 0, code: 'token_malformed' },
    { name: 'exp passed by 59 s', mintOffsetMs: 0, verifyAfterMs: (TTL + 59) * S, code: null },
    { name: 'exp passed by 60 s (jose: exp <= now − tolerance)', mintOffsetMs: 0, verifyAfterMs: (TTL + 60) * S, code: 'token_expired' },
    { name: 'exp passed by 61 s', mintOffsetMs: 0, verifyAfterMs: (TTL + 61) * S, code: 'token_expired' },
    { name: 'minter −61 s, verified at verifier exp', mintOffsetMs: -61 * S, verifyAfterMs: TTL * S, code: 'token_expired' },
  ];
  it.each(cases)('$name → $code', async ({ mintOffsetMs, verifyAfterMs, code }) => {
    const minted = await mintAgentAccessToken(config, subject(), { ttlSeconds: TTL, now: T0 + mintOffsetMs, randomBytes: seededBytes(2) });
    const result = await codeOf(verifyAgentAccessToken(config, minted.accessToken, { now: T0 + verifyAfterMs }));
    expect(result).toBe(code ?? 'resolved');
  });
});

describe('mintAgentAccessToken', () => {
  it('clamps a town TTL to the deployment TTL (a town may only shorten it)', async () => {
    const longer = await mintAgentAccessToken(config, subject(), { ttlSeconds: 10 * 3600, now: T0 });
    expect(longer.accessTokenExpiresAt - longer.accessTokenIssuedAt).toBe(TTL * 1000);
    const shorter = await mintAgentAccessToken(config, subject(), { ttlSeconds: 600, now: T0 });
    expect(shorter.accessTokenExpiresAt - shorter.accessTokenIssuedAt).toBe(600 * 1000);
  });

  it('refuses to mint for an invalid subject (never mints what verify rejects)', async () => {
    expect(await codeOf(mintAgentAccessToken(config, subject({ id: 'not an id' }), { ttlSeconds: 60, now: T0 }))).toBe('internal');
  });

  it('is deterministic for the same claims and key (what a grace replay relies on)', async () => {
    const a = await mintAgentAccessToken(config, subject(), { ttlSeconds: TTL, now: T0, randomBytes: seededBytes(7) });
    const b = await mintAgentAccessToken(config, subject(), { ttlSeconds: TTL, now: T0, randomBytes: seededBytes(7) });
    expect(b.accessToken).toBe(a.accessToken);
  });
});

describe('user tokens', () => {
  it('mint and verify', async () => {
    const { token, expiresAt } = await mintUserToken(config, 'user-1', { ttlSeconds: 86400, now: T0 });
    expect(expiresAt).toBe((iat + 86400) * 1000);
    await expect(verifyUserToken(config, token, { now: T0 + 3600_000 })).resolves.toMatchObject({ sub: 'user-1', aud: USER_AUDIENCE });
  });
  it('an agent token is not a user token', async () => {
    const minted = await mintAgentAccessToken(config, subject(), { ttlSeconds: TTL, now: T0 });
    expect(await codeOf(verifyUserToken(config, minted.accessToken, { now: T0 }))).toBe('token_malformed');
  });
  it('expires', async () => {
    const { token } = await mintUserToken(config, 'user-1', { ttlSeconds: 120, now: T0 });
    expect(await codeOf(verifyUserToken(config, token, { now: T0 + 181_000 }))).toBe('token_expired');
  });
  it('rejects an invalid user id or TTL at mint', async () => {
    expect(await codeOf(mintUserToken(config, 'bad user', { ttlSeconds: 120, now: T0 }))).toBe('validation_failed');
    expect(await codeOf(mintUserToken(config, 'user-1', { ttlSeconds: 0, now: T0 }))).toBe('validation_failed');
  });
});

async function userToken(): Promise<string> {
  return (await mintUserToken(config, 'user-1', { ttlSeconds: 3600, now: T0 })).token;
}

async function tampered(): Promise<string> {
  const token = await craftToken(HEADER, claims(), SECRETS.k2);
  const [h, , s] = token.split('.');
  const forged = await craftToken(HEADER, claims({ gen: 99 }), SECRETS.k1);
  return `${h}.${forged.split('.')[1]}.${s}`;
}

async function signedRaw(header: Record<string, unknown>, payloadText: string): Promise<string> {
  const enc = new TextEncoder();
  const b64 = (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  const input = `${b64(enc.encode(JSON.stringify(header)))}.${b64(enc.encode(payloadText))}`;
  const key = await crypto.subtle.importKey('raw', enc.encode(SECRETS.k2), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return `${input}.${b64(new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(input))))}`;
}
