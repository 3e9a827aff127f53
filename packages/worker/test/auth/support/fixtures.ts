/** Shared fixtures for auth tests: keys, configs, subjects, seeded randomness, a fake clock, DO storage. */
import { env, runInDurableObject } from 'cloudflare:test';
import { AGENT_AUDIENCE, GastownError, TOKEN_ISSUER, type Clock } from '@gastown/protocol';
import { SignJWT } from 'jose';
import { createKeyring, createTokenPolicy, type AgentSubject, type AuthConfig } from '../../../src/auth';
import { Sql } from '../../../src/storage/sql';

export const SECRETS = {
  k1: 'sim-secret-one-0123456789abcdef0123456789abcdef',
  k2: 'sim-secret-two-0123456789abcdef0123456789abcdef',
  k3: 'sim-secret-three-0123456789abcdef0123456789abcd',
} as const;
export type Kid = keyof typeof SECRETS;

/** A fixed start instant: 2026-01-05T09:00:00Z. */
export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Config with a ring of the named keys (active `active`) and a deployment TTL. */
export function makeConfig(kids: readonly Kid[], active: Kid, ttlSeconds = 3600): AuthConfig {
  const secrets = Object.fromEntries(kids.map((kid) => [kid, SECRETS[kid]]));
  return { keyring: createKeyring(secrets, active), policy: createTokenPolicy(ttlSeconds), adminSecret: null };
}

export function subject(overrides: Partial<AgentSubject> = {}): AgentSubject {
  return { id: 'ag_polecat01', townId: 'town_abc123', rigId: 'rig_main01', userId: 'user-1', role: 'polecat', gen: 1, ...overrides };
}

/** mulberry32: a tiny seeded PRNG in [0, 1). */
/** A complete, valid agent claim set issued at T0 that lives `ttlSeconds`, with `overrides` on top. */
export function agentClaims(ttlSeconds: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const s = subject();
  const iat = Math.floor(T0 / 1000);
  return {
    iss: TOKEN_ISSUER,
    aud: AGENT_AUDIENCE,
    sub: s.id,
    townId: s.townId,
    rigId: s.rigId,
    userId: s.userId,
    role: s.role,
    gen: s.gen,
    jti: 'jti-0123456789',
    iat,
    exp: iat + ttlSeconds,
    ...overrides,
  };
}

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seededBytes(seed: number): (n: number) => Uint8Array {
  const random = seededRandom(seed);
  return (n) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
}

export interface FakeClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}
export function fakeClock(start = T0): FakeClock {
  let now = start;
  return {
    now: () => now,
    set: (ms) => {
      now = ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

/** Run `fn` with the real SQLite storage of a TownDO instance (an empty shell is fine). */
export function withTownStorage<T>(name: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const stub = env.TOWN.get(env.TOWN.idFromName(name));
  return runInDurableObject(stub, (_instance, state) => fn(new Sql(state.storage.sql)));
}

const encoder = new TextEncoder();
function b64url(value: string | Uint8Array): string {
  const bytes = typeof value === 'string' ? encoder.encode(value) : value;
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Hand-build a JWT: any header, any payload, HMAC-SHA256 (or no) signature with a given secret. */
export async function craftToken(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | null): Promise<string> {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  if (secret === null) return `${signingInput}.`;
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(signingInput)));
  return `${signingInput}.${b64url(mac)}`;
}

/** Sign with jose and an explicit algorithm (e.g. HS512) and raw secret. */
export function joseToken(alg: 'HS256' | 'HS384' | 'HS512', kid: string, secret: string, payload: Record<string, unknown>): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(encoder.encode(secret));
}

/** Await a promise that must reject with a GastownError; return its code. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GastownError) return error.code;
    throw error;
  }
  return 'resolved';
}
export function codeOfSync(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof GastownError) return error.code;
    throw error;
  }
  return 'returned';
}
