/**
 * The verified-token cache (src/auth/verified-token-cache.ts): a cached verification serves only
 * while the verifier itself would accept the token (time, key), holds successes only, and stays
 * within its bound (CLOCK eviction). Revocation through the real routes: verified-token-cache-routes.test.ts.
 */
import { systemClock } from '@gastown/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKeyring, createTokenPolicy, mintAgentAccessToken, verifyAgentAccessToken, VerifiedTokenCache, type AuthConfig } from '../../src/auth';
import { agentClaims, codeOf, codeOfSync, craftToken, fakeClock, makeConfig, SECRETS, seededBytes, subject, T0 } from './support/fixtures';

const TTL = 3600;
const S = 1000;
const config = makeConfig(['k1', 'k2'], 'k2', TTL);
const iat = Math.floor(T0 / 1000);
const HEADER = { alg: 'HS256', kid: 'k2', typ: 'JWT' };

/** A complete, valid agent claim set at T0. */
const claims = (overrides: Record<string, unknown> = {}) => agentClaims(TTL, overrides);

async function mint(seed: number, at = T0, cfg: AuthConfig = config): Promise<string> {
  return (await mintAgentAccessToken(cfg, subject(), { ttlSeconds: TTL, now: at, randomBytes: seededBytes(seed) })).accessToken;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('VerifiedTokenCache', () => {
  it('verifies a token once: the second request is served from the cache, with the same claims', async () => {
    const cache = new VerifiedTokenCache({ clock: fakeClock() });
    const token = await mint(1);
    const first = await cache.verifyAgentAccessToken(config, token);
    const second = await cache.verifyAgentAccessToken(config, token);
    expect(second).toEqual(await verifyAgentAccessToken(config, token, { now: T0 }));
    expect(second).toBe(first);
    expect(Object.isFrozen(second)).toBe(true);
    expect(cache.stats()).toEqual({ size: 1, hits: 1, misses: 1 });
  });

  // Every token here is verified once at a time the verifier accepts it (so it is cached), then
  // presented at instants around each of its boundaries, forwards and backwards in time: the cache
  // must answer exactly what the verifier answers, and never from a cached entry when the verifier refuses.
  const windows: { name: string; token: () => Promise<string>; at: number[] }[] = [
    {
      name: 'exp (+ tolerance)',
      token: () => mint(2),
      at: [0, (TTL + 59) * S, (TTL + 59) * S + 999, (TTL + 60) * S, (TTL + 61) * S, (TTL + 59) * S, 10 * TTL * S],
    },
    {
      name: 'max age (exp far ahead, iat older than TTL + tolerance)',
      token: () => craftToken(HEADER, claims({ exp: iat + 10 * TTL }), SECRETS.k2),
      at: [0, (TTL + 60) * S, (TTL + 60) * S + 999, (TTL + 61) * S, (TTL + 60) * S, 2 * TTL * S],
    },
    {
      name: 'iat in the future (minted by a clock 60 s ahead), then the clock goes back',
      token: () => craftToken(HEADER, claims({ iat: iat + 60, exp: iat + 60 + TTL }), SECRETS.k2),
      at: [0, -1 * S, -1, 30 * S, -5 * S],
    },
    {
      name: 'nbf (never minted by us, still honoured)',
      token: () => craftToken(HEADER, claims({ nbf: iat + 30 }), SECRETS.k2),
      at: [0, -30 * S, -31 * S, -30 * S + 1, 60 * S, -60 * S],
    },
  ];
  it.each(windows)('answers exactly as the verifier at every instant: $name', async ({ token: make, at }) => {
    const clock = fakeClock();
    const cache = new VerifiedTokenCache({ clock });
    const token = await make();
    await cache.verifyAgentAccessToken(config, token); // cached at T0
    for (const offset of at) {
      clock.set(T0 + offset);
      const expected = await codeOf(verifyAgentAccessToken(config, token, { now: T0 + offset }));
      const { hits } = cache.stats();
      const actual = await codeOf(cache.verifyAgentAccessToken(config, token));
      expect({ offset, code: actual }).toEqual({ offset, code: expected });
      if (expected !== 'resolved') expect({ offset, servedFromCache: cache.stats().hits > hits }).toEqual({ offset, servedFromCache: false });
    }
  });

  it('honours expiry under a faked Date (the clock the worker runs with)', async () => {
    vi.useFakeTimers({ now: T0, toFake: ['Date'] });
    const cache = new VerifiedTokenCache({ clock: systemClock });
    const token = await mint(3);
    await cache.verifyAgentAccessToken(config, token);
    vi.setSystemTime(T0 + (TTL + 30) * S); // past exp, within the tolerance
    await expect(cache.verifyAgentAccessToken(config, token)).resolves.toMatchObject({ sub: 'ag_polecat01' });
    expect(cache.stats().hits).toBe(1);
    vi.setSystemTime(T0 + (TTL + 61) * S);
    expect(await codeOf(cache.verifyAgentAccessToken(config, token))).toBe('token_expired');
    expect(cache.stats()).toEqual({ size: 0, hits: 1, misses: 2 });
  });

  it('a key removed from the ring stops its cached tokens at once; a replaced secret too; the same ring reloaded keeps them', async () => {
    const cache = new VerifiedTokenCache({ clock: fakeClock() });
    const byK1 = await craftToken({ ...HEADER, kid: 'k1' }, claims(), SECRETS.k1);
    await cache.verifyAgentAccessToken(config, byK1);

    const reloaded = makeConfig(['k1', 'k2'], 'k2', TTL); // another ring instance, same keys (a new env object)
    await expect(cache.verifyAgentAccessToken(reloaded, byK1)).resolves.toMatchObject({ gen: 1 });
    expect(cache.stats().hits).toBe(1);

    const k1Removed = makeConfig(['k2'], 'k2', TTL); // emergency removal of k1
    expect(await codeOf(cache.verifyAgentAccessToken(k1Removed, byK1))).toBe('token_unknown_key');
    const k1Replaced: AuthConfig = { ...config, keyring: createKeyring({ k1: SECRETS.k3, k2: SECRETS.k2 }, 'k2') };
    await cache.verifyAgentAccessToken(config, byK1); // cached again under the original ring
    expect(await codeOf(cache.verifyAgentAccessToken(k1Replaced, byK1))).toBe('token_bad_signature');
    expect(cache.stats().hits).toBe(1);
  });

  it('the policy of the config presented applies: a redeploy with a shorter TTL retires older cached tokens', async () => {
    const clock = fakeClock();
    const cache = new VerifiedTokenCache({ clock });
    const token = await mint(4);
    await cache.verifyAgentAccessToken(config, token);
    clock.set(T0 + 700 * S);
    const shorter: AuthConfig = { ...config, policy: createTokenPolicy(600) };
    expect(await codeOf(cache.verifyAgentAccessToken(shorter, token))).toBe(await codeOf(verifyAgentAccessToken(shorter, token, { now: T0 + 700 * S })));
    expect(await codeOf(cache.verifyAgentAccessToken(shorter, token))).toBe('token_expired');
    expect(cache.stats().hits).toBe(0);
  });

  it('never stores a failure: a bad signature is checked again every time', async () => {
    const cache = new VerifiedTokenCache({ clock: fakeClock() });
    const good = await mint(5);
    const [header, payload] = good.split('.');
    const forged = await craftToken(HEADER, claims(), 'a-secret-that-is-not-in-the-ring-0123456789abcdef');
    const spliced = `${header}.${payload}.${forged.split('.')[2]}`;
    for (const token of [forged, spliced, forged, spliced]) expect(await codeOf(cache.verifyAgentAccessToken(config, token))).toBe('token_bad_signature');
    expect(cache.stats()).toEqual({ size: 0, hits: 0, misses: 4 });
    // the genuine token, once cached, does not make a look-alike with another signature pass
    await cache.verifyAgentAccessToken(config, good);
    expect(await codeOf(cache.verifyAgentAccessToken(config, spliced))).toBe('token_bad_signature');
  });

  it('refuses what the verifier refuses before parsing, without caching it', async () => {
    const cache = new VerifiedTokenCache({ clock: fakeClock() });
    expect(await codeOf(cache.verifyAgentAccessToken(config, ''))).toBe('token_missing');
    expect(await codeOf(cache.verifyAgentAccessToken(config, 'a'.repeat(5000)))).toBe('token_malformed');
    expect(cache.stats().size).toBe(0);
  });

  it('holds at most maxEntries; an entry used since the hand last passed it survives an eviction (CLOCK)', async () => {
    const cache = new VerifiedTokenCache({ clock: fakeClock(), maxEntries: 3 });
    const tokens = await Promise.all([10, 11, 12, 13, 14].map((seed) => mint(seed)));
    const [t0, t1, t2, t3, t4] = tokens as [string, string, string, string, string];
    for (const token of [t0, t1, t2]) await cache.verifyAgentAccessToken(config, token);
    await cache.verifyAgentAccessToken(config, t0); // t0 used again
    await cache.verifyAgentAccessToken(config, t3); // evicts t1 (t0 gets its second chance)
    await cache.verifyAgentAccessToken(config, t4); // evicts t2
    expect(cache.stats()).toEqual({ size: 3, hits: 1, misses: 5 });
    const hitsOf = async (token: string): Promise<number> => {
      const before = cache.stats().hits;
      await cache.verifyAgentAccessToken(config, token);
      return cache.stats().hits - before;
    };
    expect({ t0: await hitsOf(t0), t3: await hitsOf(t3), t4: await hitsOf(t4), t1: await hitsOf(t1) }).toEqual({ t0: 1, t3: 1, t4: 1, t1: 0 });
    expect(cache.stats().size).toBe(3);
  });

  it('a token in use is never evicted by a stream of new ones, and the bound holds', async () => {
    const cache = new VerifiedTokenCache({ clock: fakeClock(), maxEntries: 4 });
    const hot = await mint(30);
    await cache.verifyAgentAccessToken(config, hot);
    for (let seed = 31; seed < 61; seed += 1) {
      await cache.verifyAgentAccessToken(config, await mint(seed));
      const { hits } = cache.stats();
      await cache.verifyAgentAccessToken(config, hot);
      expect({ seed, hotServedFromCache: cache.stats().hits === hits + 1 }).toEqual({ seed, hotServedFromCache: true });
      expect(cache.stats().size).toBeLessThanOrEqual(4);
    }
    expect(cache.stats()).toEqual({ size: 4, hits: 30, misses: 31 });
  });

  it('two requests verifying the same new token at once leave one entry', async () => {
    const cache = new VerifiedTokenCache({ clock: fakeClock(), maxEntries: 2 });
    const token = await mint(70);
    const [a, b] = await Promise.all([cache.verifyAgentAccessToken(config, token), cache.verifyAgentAccessToken(config, token)]);
    expect(a).toEqual(b);
    expect(cache.stats()).toEqual({ size: 1, hits: 0, misses: 2 });
    await cache.verifyAgentAccessToken(config, await mint(71));
    await cache.verifyAgentAccessToken(config, await mint(72));
    expect(cache.stats().size).toBe(2);
  });

  it('rejects a bound that is not a positive integer (config_invalid)', () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN])
      expect(codeOfSync(() => new VerifiedTokenCache({ clock: fakeClock(), maxEntries }))).toBe('config_invalid');
  });
});
