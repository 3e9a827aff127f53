/**
 * The verify benchmark, runnable in Node and (bundled) inside workerd. It compares, on the
 * same token and key: a raw WebCrypto HMAC-SHA256 verify of the signing input (the floor),
 * a SHA-256 digest of the token (what the cache pays to look a token up), jose's jwtVerify with
 * our options, verifyAgentAccessToken (jose + zod + error mapping), and the worker's
 * VerifiedTokenCache with a token it has verified before (`cache-seen`) and with one it has
 * not (`cache-new`: look-up miss, full verify, insert, eviction), both on a full cache.
 */
import { AGENT_AUDIENCE, AgentClaimsSchema, CLOCK_TOLERANCE_SECONDS, TOKEN_ISSUER, type Clock } from '@gastown/protocol';
import { jwtVerify } from 'jose';
import {
  createKeyring,
  createTokenPolicy,
  DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES,
  mintAgentAccessToken,
  verifyAgentAccessToken,
  VerifiedTokenCache,
  type AuthConfig,
} from '../../packages/worker/src/auth';
import { verifyMintedHs256 } from '../../packages/worker/src/auth/hs256-fast-path';
import { hmacKeyringOf } from '../../packages/worker/src/auth/keyring';

export const CASES = ['raw-hmac', 'sha256-digest', 'fast-path', 'claims-zod', 'jose-jwtVerify', 'verifyAgentAccessToken', 'cache-seen', 'cache-new'] as const;
export type CaseName = (typeof CASES)[number];

/** Distinct tokens for `cache-new`: more than the cache holds, cycled in order and never hit, so eviction (CLOCK, FIFO without hits) has always dropped the next one. */
const NEW_TOKEN_POOL = DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES + 2_000;

export interface Prepared {
  token: string;
  run: Record<CaseName, () => Promise<unknown>>;
  /** The two caches' counters: after a run, `seen` must be all hits and `new` all misses. */
  stats: () => CacheStats;
}

const NOW = Date.UTC(2026, 0, 5, 9, 0, 0);
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

function fromBase64url(value: string): Uint8Array<ArrayBuffer> {
  const binary = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
  return new Uint8Array(Array.from(binary, (c) => c.charCodeAt(0)));
}

export async function prepare(): Promise<Prepared> {
  const config: AuthConfig = { keyring: createKeyring({ k1: SECRET }, 'k1'), policy: createTokenPolicy(3600), adminSecret: null };
  const subject = { id: 'ag_bench0001', townId: 'town_bench01', rigId: 'rig_bench01', userId: 'user-1', role: 'polecat' as const, gen: 1 };
  const { accessToken: token } = await mintAgentAccessToken(config, subject, { ttlSeconds: 3600, now: NOW });
  const pool: string[] = [];
  for (let i = 0; i < NEW_TOKEN_POOL; i += 1) {
    pool.push((await mintAgentAccessToken(config, { ...subject, id: `ag_bench${String(i).padStart(6, '0')}` }, { ttlSeconds: 3600, now: NOW })).accessToken);
  }
  const clock: Clock = { now: () => NOW };
  // `cache-seen`: the bench token in a cache filled with other tokens; `cache-new`: a cache that cycles through the pool
  const seenCache = new VerifiedTokenCache({ clock });
  for (const other of pool.slice(0, DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES - 1)) await seenCache.verifyAgentAccessToken(config, other);
  const newCache = new VerifiedTokenCache({ clock });
  let next = 0;
  const tokenBytes = new TextEncoder().encode(token);
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const signingInput = new TextEncoder().encode(`${header}.${payload}`);
  const signatureBytes = fromBase64url(signature);
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const currentDate = new Date(NOW);
  const keyring = hmacKeyringOf(config.keyring);
  const fastOptions = {
    kind: 'access token' as const,
    audience: AGENT_AUDIENCE,
    requiredClaims: ['sub', 'townId', 'rigId', 'userId', 'role', 'gen', 'jti', 'iat', 'exp'],
    clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
    maxTokenAgeSeconds: 3600,
    now: NOW,
  };
  const claims = await verifyAgentAccessToken(config, token, { now: NOW });
  const run: Prepared['run'] = {
    'raw-hmac': async () => {
      if (!(await crypto.subtle.verify('HMAC', key, signatureBytes, signingInput))) throw new Error('raw verify failed');
    },
    'sha256-digest': () => crypto.subtle.digest('SHA-256', tokenBytes),
    'fast-path': async () => {
      if ((await verifyMintedHs256(keyring, token, fastOptions)) === null) throw new Error('the fast path declined the bench token');
    },
    'claims-zod': async () => {
      if (!AgentClaimsSchema.safeParse(claims).success) throw new Error('claims did not parse');
    },
    'jose-jwtVerify': () =>
      jwtVerify(token, key, {
        algorithms: ['HS256'],
        issuer: TOKEN_ISSUER,
        audience: AGENT_AUDIENCE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: 3600,
        currentDate,
      }),
    verifyAgentAccessToken: () => verifyAgentAccessToken(config, token, { now: NOW }),
    'cache-seen': () => seenCache.verifyAgentAccessToken(config, token),
    'cache-new': () => {
      const fresh = pool[next]!;
      next = (next + 1) % pool.length;
      return newCache.verifyAgentAccessToken(config, fresh);
    },
  };
  for (const name of CASES) await run[name](); // each must succeed before it is timed
  const seen = seenCache.stats();
  if (seen.size !== DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES || seen.hits !== 0) throw new Error('cache-seen: the cache is not full before the run');
  return { token, run, stats: () => ({ seen: seenCache.stats(), new: newCache.stats() }) };
}

export interface CacheStats {
  seen: { size: number; hits: number; misses: number };
  new: { size: number; hits: number; misses: number };
}

/** The cache cases measured what they claim: every `cache-seen` call after the first a hit, every `cache-new` call a miss. */
export function assertCacheStats(stats: CacheStats): void {
  if (stats.seen.misses !== DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES || stats.seen.hits === 0)
    throw new Error(`cache-seen was not served from the cache: ${JSON.stringify(stats.seen)}`);
  if (stats.new.hits !== 0) throw new Error(`cache-new found tokens in the cache: ${JSON.stringify(stats.new)}`);
}

export async function loop(fn: () => Promise<unknown>, iterations: number): Promise<void> {
  for (let i = 0; i < iterations; i += 1) await fn();
}

export interface ResultRow {
  name: string;
  usPerOp: number;
}

export function formatTable(title: string, rows: readonly ResultRow[]): string {
  const floor = rows.find((r) => r.name === 'raw-hmac')?.usPerOp ?? Number.NaN;
  const lines = [
    title,
    `${'case'.padEnd(26)}${'µs/op'.padStart(10)}${'ops/s'.padStart(12)}${'× raw'.padStart(9)}`,
    ...rows.map(
      (r) =>
        `${r.name.padEnd(26)}${r.usPerOp.toFixed(2).padStart(10)}${Math.round(1e6 / r.usPerOp)
          .toLocaleString('en-US')
          .padStart(12)}${(r.usPerOp / floor).toFixed(2).padStart(9)}`,
    ),
  ];
  return lines.join('\n');
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
