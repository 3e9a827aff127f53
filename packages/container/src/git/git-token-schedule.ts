/**
 * Pure timing decisions of the git token broker (./git-token-broker.ts). No I/O, no clock: `now`
 * is a parameter. The jitter and backoff rules are the credential broker's (../broker/refresh-schedule).
 *
 * Time model: a GitTokenGrant carries only `expiresAt` (the git host's expiry, on the control
 * plane's clock; no issue time), so its life is measured from the moment the container receives
 * it. The pull happens at half the life left at receipt (± 10 % jitter); the token is handed to
 * git only until 90 % of that life (at most a minute short of its expiry), so a command that
 * starts just before expiry does not carry a token that dies halfway through, and clock skew up
 * to that margin is absorbed.
 */
import type { RandomSource } from '@gastown/protocol';
import { refreshDelayMs } from '../broker/refresh-schedule';

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
  return { receivedAt: now, usableUntil: expiresAt - leewayMs, refreshAt: now + refreshDelayMs(now, expiresAt, random) };
}

/** The token may still be handed to git at `now`. */
export function isUsable(now: number, times: GitTokenTimes): boolean {
  return times.usableUntil === null || now < times.usableUntil;
}

/** A value git's credential protocol can carry on one line: printable ASCII, no spaces, not empty. */
export function isCredentialValue(value: string): boolean {
  return /^[\x21-\x7e]{1,4096}$/.test(value);
}
