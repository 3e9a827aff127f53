/** Shared fixtures for the broker tests: a seeded PRNG, credentials, and a scripted refresh endpoint. */
import type { AgentCredentials, AgentIdentity, RandomSource } from '@gastown/protocol';
import { createLogger, type Logger } from '../../src/log';

export const AGENT: AgentIdentity = {
  id: 'ag_agent0001',
  townId: 'town_town0001',
  rigId: 'rig_rig00001',
  userId: 'user-1',
  role: 'polecat',
  name: 'polecat-1',
  gen: 1,
};

/** mulberry32: a deterministic RandomSource per seed. */
export function seeded(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let serial = 0;
/** Opaque test credentials (not JWT-shaped, so only the secret registry can redact them). */
export function credentials(issuedAt: number, ttlMs: number, gen = 1): AgentCredentials {
  serial += 1;
  const n = serial.toString().padStart(6, '0');
  return {
    accessToken: `access-token-${n}-secret-value`,
    accessTokenIssuedAt: issuedAt,
    accessTokenExpiresAt: issuedAt + ttlMs,
    refreshCredential: `gtr_refresh-${n}-secret-value-xyz`,
    refreshCredentialExpiresAt: issuedAt + 7 * 24 * 3600_000,
    gen,
  };
}

export type Scripted = 'ok' | 'network' | { status: number; code?: string } | 'hold';

/**
 * A fetch for the refresh endpoint. Each call consumes the next scripted outcome (default
 * 'ok': fresh credentials issued at the *server* clock). 'hold' parks the response until
 * `release()`.
 */
export class RefreshStub {
  readonly calls: Array<{ url: string; authorization: string | null; at: number }> = [];
  readonly script: Scripted[] = [];
  readonly issued: AgentCredentials[] = [];
  /** When set and true at the (local) time of a call, the call fails like an unreachable network (an outage window). */
  unreachable: ((localNow: number) => boolean) | null = null;
  /** Generation of the credentials this endpoint issues. */
  gen = 1;
  #held: Array<() => void> = [];

  constructor(
    private readonly serverNow: () => number,
    private readonly ttlMs: number,
    private readonly localNow: () => number = serverNow,
  ) {}

  readonly fetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    this.calls.push({ url: String(input), authorization: headers.get('authorization'), at: this.localNow() });
    if (this.unreachable?.(this.localNow())) throw new TypeError('fetch failed');
    const next = this.script.shift() ?? 'ok';
    if (next === 'hold') await new Promise<void>((resolve) => this.#held.push(resolve));
    if (next === 'network') throw new TypeError('fetch failed');
    if (typeof next === 'object') {
      return Response.json(next.code ? { error: { code: next.code, message: 'scripted' } } : { oops: true }, { status: next.status });
    }
    const creds = credentials(this.serverNow(), this.ttlMs, this.gen);
    this.issued.push(creds);
    return Response.json(creds);
  };

  release(): void {
    const held = this.#held;
    this.#held = [];
    for (const resolve of held) resolve();
  }
}

/** A logger writing into an array, for asserting on lines. */
export function captureLogger(secrets?: Parameters<typeof createLogger>[0]['secrets']): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const logger = createLogger({ stream: { write: (line: string) => lines.push(line) }, level: 'debug', ...(secrets ? { secrets } : {}) });
  return { logger, lines, text: () => lines.join('') };
}
