/**
 * A long-running agent, simulated with a fake clock against the real credential service
 * (DO SQLite) and the real verifier. One function serves every scenario: with or without
 * refresh, with or without signing-key changes rolling out over time.
 *
 * The agent behaves as ARCHITECTURE.md's broker: it refreshes at 50 % of the token's life
 * ± 10 % jitter (seeded), and "calls a tool" every `toolCallEveryMs` (verify + gen check,
 * as the agent API does). A failed refresh is retried a minute later.
 */
import { CredentialError, GastownError, type AgentCredentials } from '@gastown/protocol';
import { createCredentialService, verifyAgentAccessToken, type AgentSubject, type AuthConfig, type CredentialService } from '../../../src/auth';
import type { Sql } from '../../../src/storage/sql';
import { fakeClock, seededBytes, seededRandom, T0 } from './fixtures';

export interface ConfigChange {
  /** ms after the start of the simulation. */
  atMs: number;
  config: AuthConfig;
}

export interface SimulationOptions {
  sql: Sql;
  subject: AgentSubject;
  refresh: boolean;
  /** The town's token TTL (clamped to the deployment TTL of the config in use). */
  ttlSeconds: number;
  initialConfig: AuthConfig;
  /** Deploys of a new auth config (key rotation steps), in time order. */
  changes?: readonly ConfigChange[];
  /**
   * How long a deploy takes to reach every instance. The minter (the one TownDO) runs the new
   * version from the start of the window, the worst case; each verification during the window
   * runs on the old or the new version at random (many worker isolates).
   */
  rolloutMs?: number;
  durationMs: number;
  toolCallEveryMs: number;
  seed: number;
  jitterFraction?: number;
}

export interface SimulationFailure {
  /** ms after the start. */
  atMs: number;
  op: 'tool' | 'refresh';
  code: string;
}

export interface SimulationResult {
  toolCalls: number;
  refreshes: number;
  failures: SimulationFailure[];
  firstFailure: SimulationFailure | null;
  /** Kid of the token in hand at the end. */
  finalKid: string;
  events: string[];
}

const RETRY_MS = 60_000;

export async function simulateAgent(options: SimulationOptions): Promise<SimulationResult> {
  const start = T0;
  const clock = fakeClock(start);
  const jitterRandom = seededRandom(options.seed);
  const rolloutRandom = seededRandom(options.seed ^ 0x5eed);
  const randomBytes = seededBytes(options.seed + 1);
  const events: string[] = [];
  const changes = options.changes ?? [];
  const rolloutMs = options.rolloutMs ?? 0;
  const currentSubject = (id: string) => (id === options.subject.id ? options.subject : null);

  /** The config an operation at `t` runs with (see `rolloutMs`). */
  const configAt = (t: number, role: 'minter' | 'verifier'): AuthConfig => {
    let previous = options.initialConfig;
    let current = options.initialConfig;
    let changedAt = -Infinity;
    for (const change of changes) {
      if (start + change.atMs > t) break;
      previous = current;
      current = change.config;
      changedAt = start + change.atMs;
    }
    if (role === 'verifier' && t - changedAt < rolloutMs && rolloutRandom() < 0.5) return previous;
    return current;
  };
  const serviceAt = (t: number): CredentialService =>
    createCredentialService({
      sql: options.sql,
      config: configAt(t, 'minter'),
      clock,
      randomBytes,
      recordEvent: (type) => events.push(type),
    });
  /** Refresh at 50 % of life ± jitter, computed once per credential. */
  const refreshAtFor = (held: AgentCredentials): number => {
    const life = held.accessTokenExpiresAt - held.accessTokenIssuedAt;
    const jitter = (options.jitterFraction ?? 0.1) * (2 * jitterRandom() - 1);
    return held.accessTokenIssuedAt + Math.round(life * 0.5 * (1 + jitter));
  };

  const first = serviceAt(start); // its tables: the TownDO's numbered migrations, run when the object starts
  let held = (await first.issue(options.subject, options.ttlSeconds)).credentials;
  let nextRefreshAt = refreshAtFor(held);
  let nextToolAt = start;
  const end = start + options.durationMs;
  const failures: SimulationFailure[] = [];
  let toolCalls = 0;
  let refreshes = 0;

  for (;;) {
    const refreshDue = options.refresh && nextRefreshAt <= nextToolAt;
    const t = refreshDue ? nextRefreshAt : nextToolAt;
    if (t > end) break;
    clock.set(t);
    if (refreshDue) {
      try {
        const service = serviceAt(t);
        const located = await service.locate(held.refreshCredential);
        const outcome = await service.refresh(located, located.agentId === null ? null : currentSubject(located.agentId), options.ttlSeconds);
        held = outcome.credentials;
        refreshes += 1;
        nextRefreshAt = refreshAtFor(held);
      } catch (error) {
        failures.push({ atMs: t - start, op: 'refresh', code: codeOf(error) });
        nextRefreshAt = t + RETRY_MS;
      }
      continue;
    }
    toolCalls += 1;
    nextToolAt += options.toolCallEveryMs;
    try {
      const claims = await verifyAgentAccessToken(configAt(t, 'verifier'), held.accessToken, { now: t });
      if (claims.gen !== currentSubject(claims.sub)?.gen) throw new CredentialError('token_revoked', 'generation moved on');
    } catch (error) {
      failures.push({ atMs: t - start, op: 'tool', code: codeOf(error) });
    }
  }
  const header = JSON.parse(atob(held.accessToken.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/'))) as { kid: string };
  return { toolCalls, refreshes, failures, firstFailure: failures[0] ?? null, finalKid: header.kid, events };
}

function codeOf(error: unknown): string {
  if (error instanceof GastownError) return error.code;
  throw error;
}
