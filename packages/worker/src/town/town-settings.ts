/**
 * Settings of dispatch and the reconciler, parsed from the env with zod (see config.ts: once per
 * isolate for the Worker and the TownDO alike). A bad value throws GastownError `config_invalid`
 * (fail fast) naming the variable, never its value.
 *
 * | variable                            | default | meaning                                              |
 * |-------------------------------------|---------|------------------------------------------------------|
 * | GASTOWN_PUBLIC_URL                  | ""      | control-plane URL containers call back to (https:, or http: to loopback); "" → the origin of the user's requests |
 * | GASTOWN_HEARTBEAT_INTERVAL_SECONDS  | 30      | the containers' heartbeat interval (set both sides alike) |
 * | GASTOWN_DISPATCH_BACKOFF_SECONDS    | 30      | first retry delay of a failed bead; doubles per attempt, ≤ 15 min |
 * | GASTOWN_MAX_POLECATS                | 4       | polecats running at once per town                   |
 * | GASTOWN_PR_POLL_SECONDS             | 60      | how often an open pull request is polled (the webhook's fallback) |
 * | GASTOWN_RIG_ACCESS_CHECK            | on      | `off`: a rig without auth is added without reading its http(s) URL first (a git host only the containers reach) |
 */
import { GastownError } from '@gastown/protocol';
import { z } from 'zod';
import { MAX_BEAD_ATTEMPTS } from './bead-rules';
import { CONTROL_PLANE_URL_RULE, isAllowedControlPlaneUrl } from './control-plane-url';

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
  /** An open pull request is polled this often (the fallback of its webhook). */
  prPollMs: number;
  /** A rig without auth is read at its http(s) URL before it is added (git-host/remote-probe.ts). */
  rigAccessCheck: boolean;
}

export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 30;
export const DEFAULT_DISPATCH_BACKOFF_SECONDS = 30;
export const DEFAULT_MAX_POLECATS = 4;
export const DEFAULT_PR_POLL_SECONDS = 60;
const BACKOFF_MAX_MS = 15 * 60_000;
const START_GRACE_MIN_MS = 120_000;

/** An env var that is unset, null or blank is absent: its default applies (in createTownSettings). */
function blankToUndefined(raw: unknown): unknown {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return undefined;
  return raw;
}

/** A whole number of at most 9 digits in [min, max]; a non-string value is read as its String(). */
function intVar(min: number, max: number) {
  const error = `must be an integer in [${min}, ${max}]`;
  return z.preprocess(
    (raw) => {
      const value = blankToUndefined(raw);
      if (value === undefined) return undefined;
      return typeof value === 'string' ? value.trim() : String(value);
    },
    z
      .string()
      .regex(/^\d{1,9}$/, { error })
      .transform(Number)
      .pipe(z.number().int().min(min, { error }).max(max, { error }))
      .optional(),
  );
}

/**
 * An https URL (http only to a loopback host: control-plane-url.ts) without trailing slashes; a
 * non-string value counts as unset.
 */
const publicUrlVar = z.preprocess(
  (raw) => (typeof raw === 'string' ? blankToUndefined(raw) : undefined),
  z
    .url({ protocol: /^https?$/, normalize: true, error: 'must be an http(s) URL' })
    .refine(isAllowedControlPlaneUrl, { error: CONTROL_PLANE_URL_RULE })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
);

const TownEnvSchema = z.object({
  GASTOWN_PUBLIC_URL: publicUrlVar,
  GASTOWN_HEARTBEAT_INTERVAL_SECONDS: intVar(1, 3600),
  GASTOWN_DISPATCH_BACKOFF_SECONDS: intVar(1, 3600),
  GASTOWN_MAX_POLECATS: intVar(1, 100),
  GASTOWN_PR_POLL_SECONDS: intVar(5, 86_400),
  GASTOWN_RIG_ACCESS_CHECK: z.preprocess(blankToUndefined, z.enum(['on', 'off'], { error: 'must be on or off' }).optional()),
});

export function loadTownSettings(env: Record<string, unknown>): TownSettings {
  const parsed = TownEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${String(issue.path[0] ?? '(env)')} ${issue.message}`);
    throw new GastownError('config_invalid', `configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const overrides: Partial<TownSettings> = {};
  if (e.GASTOWN_PUBLIC_URL !== undefined) overrides.publicUrl = e.GASTOWN_PUBLIC_URL;
  if (e.GASTOWN_HEARTBEAT_INTERVAL_SECONDS !== undefined) overrides.heartbeatIntervalMs = e.GASTOWN_HEARTBEAT_INTERVAL_SECONDS * 1000;
  if (e.GASTOWN_DISPATCH_BACKOFF_SECONDS !== undefined) overrides.backoffBaseMs = e.GASTOWN_DISPATCH_BACKOFF_SECONDS * 1000;
  if (e.GASTOWN_MAX_POLECATS !== undefined) overrides.maxPolecats = e.GASTOWN_MAX_POLECATS;
  if (e.GASTOWN_PR_POLL_SECONDS !== undefined) overrides.prPollMs = e.GASTOWN_PR_POLL_SECONDS * 1000;
  if (e.GASTOWN_RIG_ACCESS_CHECK !== undefined) overrides.rigAccessCheck = e.GASTOWN_RIG_ACCESS_CHECK === 'on';
  return createTownSettings(overrides);
}

/** Settings with every default resolved in one place (the env parser passes only what is set). */
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
    prPollMs: DEFAULT_PR_POLL_SECONDS * 1000,
    rigAccessCheck: true,
    ...overrides,
    heartbeatIntervalMs,
  };
}
