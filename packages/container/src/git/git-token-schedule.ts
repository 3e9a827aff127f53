/**
 * Pure timing decisions of the git token broker (./git-token-broker.ts). No I/O, no clock: `now`
 * is a parameter. The jitter and backoff rules are the credential broker's (../broker/refresh-schedule).
 *
 * Time model: a GitTokenGrant carries only `expiresAt` (the git host's expiry, on the control
 * plane's clock; no issue time), so its life is measured from the moment the container receives
 * it. The pull happens at a third of the life left at receipt (± 5 %, below); the token is handed to
 * git only until 90 % of that life (at most a minute short of its expiry), so a command that
 * starts just before expiry does not carry a token that dies halfway through, and clock skew up
 * to that margin is absorbed.
 */
import type { RandomSource } from '@gastown/protocol';
import { backoffDelayMs } from '../broker/refresh-schedule';

/**
 * The pull is due at a third of the life (± 5 %, so within [30 %, 40 %]) — earlier than the access
 * token's half-life: a token endpoint that refuses for 40 % of a token's life starting at the pull
 * still leaves the retries (sub-second near the end) time to succeed before the usable window
 * closes at 90 %. A git host's token is cheap to mint; failing a clone is not.
 */
export const GIT_REFRESH_AT_FRACTION = 0.35;
export const GIT_REFRESH_JITTER_FRACTION = 0.05;

function unitOf(random: RandomSource): number {
  const r = random();
  if (!Number.isFinite(r) || r < 0) return 0;
  return r >= 1 ? 1 - Number.EPSILON : r;
}

/** The token is not handed out in the last tenth of the life it had at receipt… */
export const EXPIRY_LEEWAY_FRACTION = 0.1;
/** …and never more than this much early. */
export const MAX_EXPIRY_LEEWAY_MS = 60_000;

/** Everything the broker derives from one grant, once, at receipt (local clock). */
export interface GitTokenTimes {
  receivedAt: number;
  /** Handed to git strictly before this; null: a token without an expiry (a PAT). */
  usableUntil: number | null;
  /** When the scheduled pull is due; null: never (a PAT is only replaced when refused). */
  refreshAt: number | null;
}

export function planGitToken(now: number, expiresAt: number | null, random: RandomSource): GitTokenTimes {
  if (expiresAt === null) return { receivedAt: now, usableUntil: null, refreshAt: null };
  const lifeMs = Math.max(0, expiresAt - now);
  const leewayMs = Math.min(MAX_EXPIRY_LEEWAY_MS, Math.floor(lifeMs * EXPIRY_LEEWAY_FRACTION));
  const fraction = GIT_REFRESH_AT_FRACTION + (unitOf(random) * 2 - 1) * GIT_REFRESH_JITTER_FRACTION;
  return { receivedAt: now, usableUntil: expiresAt - leewayMs, refreshAt: now + Math.round(lifeMs * fraction) };
}

/** The token may still be handed to git at `now`. */
export function isUsable(now: number, times: GitTokenTimes): boolean {
  return times.usableUntil === null || now < times.usableUntil;
}

/** A value git's credential protocol can carry on one line: printable ASCII, no spaces, not empty. */
export function isCredentialValue(value: string): boolean {
  return /^[\x21-\x7e]{1,4096}$/.test(value);
}

/**
 * Pause before the next pull after `attempt + 1` failed ones: full-jitter backoff, but never more
 * than a quarter of the usable time left (at least GIT_MIN_RETRY_GAP_MS), so the attempts crowd in
 * toward the end of the usable window instead of stepping over it (short-lived tokens included).
 */
export const GIT_MIN_RETRY_GAP_MS = 200;

export function gitRetryDelayMs(attempt: number, remainingMs: number, random: RandomSource): number {
  const backoff = backoffDelayMs(attempt, random);
  if (!(remainingMs > 0)) return backoff;
  return Math.min(backoff, Math.max(GIT_MIN_RETRY_GAP_MS, Math.floor(remainingMs / 4)));
}
