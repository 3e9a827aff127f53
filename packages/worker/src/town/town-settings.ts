/**
 * Settings of dispatch and the reconciler, parsed once per TownDO instance from the env.
 * A bad value throws (fail fast) naming the variable, never its value.
 *
 * | variable                            | default | meaning                                              |
 * |-------------------------------------|---------|------------------------------------------------------|
 * | GASTOWN_PUBLIC_URL                  | ""      | control-plane URL containers call back to; "" → the origin of the user's requests |
 * | GASTOWN_HEARTBEAT_INTERVAL_SECONDS  | 30      | the containers' heartbeat interval (set both sides alike) |
 * | GASTOWN_DISPATCH_BACKOFF_SECONDS    | 30      | first retry delay of a failed bead; doubles per attempt, ≤ 15 min |
 * | GASTOWN_MAX_POLECATS                | 4       | polecats running at once per town                   |
 */
import { GastownError } from '@gastown/protocol';
import { MAX_BEAD_ATTEMPTS } from './bead-rules';

export interface TownSettings {
  publicUrl: string | null;
  heartbeatIntervalMs: number;
  /** An agent not heard from for this many heartbeat intervals is lost. */
  missedHeartbeats: number;
  /** The credential backstop only pushes to agents heard from within this many intervals. */
  backstopHeardWithinIntervals: number;
  /** The backstop pushes once a token has used this fraction of its life. */
  backstopLifeFraction: number;
  /** A dispatched agent that has not heartbeated after this long is lost. */
  startGraceMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxPolecats: number;
  maxAttempts: number;
  /** Shortest delay between two reconciler runs (no hot loop). */
  minAlarmDelayMs: number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 30;
export const DEFAULT_DISPATCH_BACKOFF_SECONDS = 30;
export const DEFAULT_MAX_POLECATS = 4;
const BACKOFF_MAX_MS = 15 * 60_000;
const START_GRACE_MIN_MS = 120_000;

export function loadTownSettings(env: Record<string, unknown>): TownSettings {
  const heartbeatIntervalMs = intVar(env, 'GASTOWN_HEARTBEAT_INTERVAL_SECONDS', DEFAULT_HEARTBEAT_INTERVAL_SECONDS, 1, 3600) * 1000;
  return createTownSettings({
    publicUrl: publicUrl(env),
    heartbeatIntervalMs,
    backoffBaseMs: intVar(env, 'GASTOWN_DISPATCH_BACKOFF_SECONDS', DEFAULT_DISPATCH_BACKOFF_SECONDS, 1, 3600) * 1000,
    maxPolecats: intVar(env, 'GASTOWN_MAX_POLECATS', DEFAULT_MAX_POLECATS, 1, 100),
  });
}

/** Settings with every default resolved in one place. */
export function createTownSettings(overrides: Partial<TownSettings> = {}): TownSettings {
  const heartbeatIntervalMs = overrides.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_SECONDS * 1000;
  const missedHeartbeats = overrides.missedHeartbeats ?? 3;
  return {
    publicUrl: null,
    missedHeartbeats,
    backstopHeardWithinIntervals: 2,
    backstopLifeFraction: 0.75,
    startGraceMs: Math.max(START_GRACE_MIN_MS, missedHeartbeats * heartbeatIntervalMs),
    backoffBaseMs: DEFAULT_DISPATCH_BACKOFF_SECONDS * 1000,
    backoffMaxMs: BACKOFF_MAX_MS,
    maxPolecats: DEFAULT_MAX_POLECATS,
    maxAttempts: MAX_BEAD_ATTEMPTS,
    minAlarmDelayMs: 1000,
    ...overrides,
    heartbeatIntervalMs,
  };
}

function intVar(env: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return fallback;
  const text = typeof raw === 'string' ? raw.trim() : String(raw);
  const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new GastownError('internal', `configuration: ${name} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function publicUrl(env: Record<string, unknown>): string | null {
  const raw = env.GASTOWN_PUBLIC_URL;
  if (typeof raw !== 'string' || raw.trim() === '') return null;
  try {
    const url = new URL(raw.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    return url.toString().replace(/\/+$/, '');
  } catch {
    throw new GastownError('internal', 'configuration: GASTOWN_PUBLIC_URL must be an http(s) URL');
  }
}
