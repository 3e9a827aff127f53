/**
 * The HS256 fast path against jose, on the same tokens: it must take every token we mint (or the
 * speed-up is fiction) and must never accept a token jose refuses, nor return another payload or
 * kid than jose. Tokens: minted ones, hand-crafted variants of header and claims, every
 * single-character change of a valid token, and every instant around the time boundaries.
 */
import { AGENT_AUDIENCE, USER_AUDIENCE } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { mintAgentAccessToken, mintUserToken } from '../../src/auth';
import { verifyMintedHs256 } from '../../src/auth/hs256-fast-path';
import { verifyHs256, verifyHs256WithJose, type VerifiedJwt, type VerifyHs256Options } from '../../src/auth/jwt';
import { hmacKeyringOf } from '../../src/auth/keyring';
import { agentClaims, craftToken, joseToken, makeConfig, SECRETS, seededBytes, subject, T0 } from './support/fixtures';

const TTL = 3600;
const TOLERANCE = 60;
const config = makeConfig(['k1', 'k2'], 'k2', TTL);
const keyring = hmacKeyringOf(config.keyring);
const iat = Math.floor(T0 / 1000);
const HEADER = { alg: 'HS256', kid: 'k2', typ: 'JWT' };
const AGENT_REQUIRED = ['sub', 'townId', 'rigId', 'userId', 'role', 'gen', 'jti', 'iat', 'exp'];

function options(now: number, overrides: Partial<VerifyHs256Options> = {}): VerifyHs256Options {
  return {
    kind: 'access token',
    audience: AGENT_AUDIENCE,
    requiredClaims: AGENT_REQUIRED,
    clockToleranceSeconds: TOLERANCE,
    maxTokenAgeSeconds: TTL,
    now,
    ...overrides,
  };
}

async function joseVerdict(token: string, opts: VerifyHs256Options): Promise<VerifiedJwt | string> {
  try {
    return await verifyHs256WithJose(keyring, token, opts);
  } catch (error) {
    return (error as { code?: string }).code ?? 'thrown';
  }
}

/** The invariant: whatever the fast path accepts, jose accepts with the same payload and kid. Returns whether the fast path accepted. */
async function agreesWithJose(token: string, opts: VerifyHs256Options): Promise<boolean> {
  const fast = await verifyMintedHs256(keyring, token, opts);
  if (fast === null) return false;
  const jose = await joseVerdict(token, opts);
  expect(jose, `fast path accepted a token jose refuses: ${token}`).toEqual(fast);
  return true;
}

const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
async function signedRaw(headerJson: string, payloadJson: string, secret: string = SECRETS.k2): Promise<string> {
  return signedSegments(b64url(headerJson), b64url(payloadJson), secret);
}
/** Sign two segments exactly as given (even ones that are not valid base64url). */
async function signedSegments(header: string, payload: string, secret: string = SECRETS.k2): Promise<string> {
  const input = `${header}.${payload}`;
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input)));
  return `${input}.${Buffer.from(mac).toString('base64url')}`;
}

describe('HS256 fast path', () => {
  it('takes every token we mint, agent and user, with jose’s payload and kid', async () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      const agent = await mintAgentAccessToken(config, subject({ gen: seed, rigId: seed % 2 ? null : 'rig_main01' }), {
        ttlSeconds: TTL,
        now: T0,
        randomBytes: seededBytes(seed),
      });
      expect(await agreesWithJose(agent.accessToken, options(T0))).toBe(true);
    }
    const user = await mintUserToken(config, 'user-1', { ttlSeconds: 3600, now: T0, randomBytes: seededBytes(99) });
    const userOptions = options(T0, {
      kind: 'user token',
      audience: USER_AUDIENCE,
      requiredClaims: ['sub', 'jti', 'iat', 'exp'],
      maxTokenAgeSeconds: 365 * 86400,
    });
    expect(await agreesWithJose(user.token, userOptions)).toBe(true);
  });

  it('a token of an older key still in the ring is taken; a kid not in the ring goes to jose', async () => {
    expect(await agreesWithJose(await craftToken({ ...HEADER, kid: 'k1' }, agentClaims(TTL), SECRETS.k1), options(T0))).toBe(true);
    const unknown = await craftToken({ ...HEADER, kid: 'k3' }, agentClaims(TTL), SECRETS.k3);
    expect(await verifyMintedHs256(keyring, unknown, options(T0))).toBeNull();
    expect(await joseVerdict(unknown, options(T0))).toBe('token_unknown_key');
  });

  it('agrees with jose at every second around each time boundary', async () => {
    const token = await craftToken(HEADER, agentClaims(TTL), SECRETS.k2);
    const future = await craftToken(HEADER, agentClaims(TTL, { iat: iat + 600, exp: iat + 600 + TTL }), SECRETS.k2);
    const longLived = await craftToken(HEADER, agentClaims(TTL, { exp: iat + 10 * TTL }), SECRETS.k2);
    let accepted = 0;
    let refused = 0;
    const boundaries = [iat - TOLERANCE, iat + TTL - TOLERANCE, iat + TTL + TOLERANCE, iat + 600 - TOLERANCE, iat + TTL + TOLERANCE];
    for (const t of [token, future, longLived]) {
      for (const boundary of boundaries) {
        for (let delta = -3; delta <= 3; delta += 1) {
          for (const ms of [0, 1, 999]) {
            const now = (boundary + delta) * 1000 + ms;
            const fast = await agreesWithJose(t, options(now));
            const jose = await joseVerdict(t, options(now));
            // where jose accepts, the fast path must too (else it is not the fast path for live tokens)
            if (typeof jose !== 'string') expect(fast, `fast path declined a valid token at ${now}`).toBe(true);
            if (fast) accepted += 1;
            else refused += 1;
          }
        }
      }
    }
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it('never accepts what jose refuses: header, claim and encoding variants', async () => {
    const claims = agentClaims(TTL);
    const payloadJson = JSON.stringify(claims);
    const variants: Promise<string>[] = [
      craftToken({ alg: 'HS512', kid: 'k2', typ: 'JWT' }, claims, SECRETS.k2),
      craftToken({ alg: 'none', kid: 'k2', typ: 'JWT' }, claims, null),
      craftToken({ alg: 'HS256', kid: 'k2' }, claims, SECRETS.k2),
      craftToken({ alg: 'HS256', kid: 'k2', typ: 'jwt' }, claims, SECRETS.k2), // jose accepts (normalised typ); the fast path leaves it to jose
      craftToken({ alg: 'HS256', kid: 'k2', typ: 'at+jwt' }, claims, SECRETS.k2),
      craftToken({ alg: 'HS256', kid: 'k2', typ: 'JWT', crit: ['exp'] }, claims, SECRETS.k2),
      craftToken({ alg: 'HS256', kid: 'k2', typ: 'JWT', b64: false }, claims, SECRETS.k2),
      craftToken({ alg: 'HS256', kid: '', typ: 'JWT' }, claims, SECRETS.k2),
      craftToken({ alg: 'HS256', kid: 2, typ: 'JWT' }, claims, SECRETS.k2),
      craftToken(HEADER, { ...claims, aud: [AGENT_AUDIENCE] }, SECRETS.k2),
      craftToken(HEADER, { ...claims, aud: 'gastown:user' }, SECRETS.k2),
      craftToken(HEADER, { ...claims, iss: 'someone-else' }, SECRETS.k2),
      craftToken(HEADER, { ...claims, nbf: iat + 3600 }, SECRETS.k2),
      craftToken(HEADER, { ...claims, nbf: iat - 10 }, SECRETS.k2),
      craftToken(HEADER, { ...claims, iat: String(iat) }, SECRETS.k2),
      craftToken(HEADER, { ...claims, exp: null }, SECRETS.k2),
      craftToken(HEADER, { ...claims, exp: undefined }, SECRETS.k2),
      craftToken(HEADER, { ...claims, gen: undefined }, SECRETS.k2),
      craftToken(HEADER, claims, SECRETS.k1), // wrong secret for kid k2
      signedRaw(JSON.stringify(HEADER), `[${payloadJson}]`),
      signedRaw(JSON.stringify(HEADER), 'null'),
      signedRaw(`\uFEFF${JSON.stringify(HEADER)}`, payloadJson), // BOM: jose strips it, the fast path declines
      signedRaw(JSON.stringify(HEADER), `\uFEFF${payloadJson}`),
      signedRaw('{"alg":"none","alg":"HS256","kid":"k2","typ":"JWT"}', payloadJson), // duplicate member: last wins in both
      signedRaw(JSON.stringify(HEADER), payloadJson.replace('"iat":', '"iat":1e999,"x":')),
      signedRaw(JSON.stringify(HEADER), `${payloadJson} `),
      signedRaw(JSON.stringify(HEADER), JSON.stringify({ ...claims, jti: 'jti-\u00e9t\u00e9-0123' })), // UTF-8: jose decodes it, the fast path declines
      joseToken('HS256', 'k2', SECRETS.k2, claims),
    ];
    // a segment of 4n + 1 characters is not base64: jose refuses it, a lenient decoder reads its prefix
    let padded = payloadJson;
    while (b64url(padded).length % 4 !== 0) padded += ' ';
    variants.push(signedSegments(b64url(JSON.stringify(HEADER)), `${b64url(padded)}A`));
    for (const variant of variants) await agreesWithJose(await variant, options(T0));
    // the duplicate-member header is a token jose accepts: the fast path may take it too, with the same result
    const invalidUtf8 = `${b64url(JSON.stringify(HEADER))}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.${'A'.repeat(43)}`;
    expect(await verifyMintedHs256(keyring, invalidUtf8, options(T0))).toBeNull();
  });

  it('never accepts a valid token with any one character changed, added or removed', async () => {
    const token = await craftToken(HEADER, agentClaims(TTL), SECRETS.k2);
    const alphabet = ['A', 'a', 'Q', 'g', '0', '_', '-', '.', '=', ' ', '+', '/', '\u00e9'];
    let tried = 0;
    let accepted = 0;
    for (let i = 0; i < token.length; i += 1) {
      for (const c of alphabet) {
        if (token[i] === c) continue;
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        const inserted = token.slice(0, i) + c + token.slice(i);
        for (const variant of [changed, inserted]) {
          tried += 1;
          if (await agreesWithJose(variant, options(T0))) accepted += 1;
        }
      }
      tried += 1;
      if (await agreesWithJose(token.slice(0, i) + token.slice(i + 1), options(T0))) accepted += 1;
    }
    expect(tried).toBeGreaterThan(5_000);
    // only changes to the last character's unused low bits decode to the same signature
    expect(accepted).toBeLessThanOrEqual(3);
  });

  it('verifyHs256 returns jose’s verdict for every token the fast path declines', async () => {
    const expired = await craftToken(HEADER, agentClaims(TTL, { iat: iat - TTL - 61, exp: iat - 61 }), SECRETS.k2);
    const badSignature = await craftToken(HEADER, agentClaims(TTL), SECRETS.k1);
    for (const [token, code] of [
      [expired, 'token_expired'],
      [badSignature, 'token_bad_signature'],
    ] as const) {
      expect(await verifyMintedHs256(keyring, token, options(T0))).toBeNull();
      await expect(verifyHs256(keyring, token, options(T0))).rejects.toMatchObject({ code });
    }
  });
});
