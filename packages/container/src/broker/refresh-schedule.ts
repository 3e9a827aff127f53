/**
 * Pure scheduling decisions of the credential broker. No I/O, no clock: every input is a
 * parameter, so each rule is testable on its own.
 *
 * Time model: `issuedAt`/`expiresAt` of a token are on the control plane's clock. The broker
 * estimates the skew once, when it receives a credential (`localNow − issuedAt`), and turns
 * every server time into local time with it.
 */
import type { RandomSource } from '@gastown/protocol';

/** Refresh at this fraction of a token's life… */
export const REFRESH_AT_FRACTION = 0.5;
/** …plus or minus this fraction of its life, uniformly (so within [40 %, 60 %]). */
export const REFRESH_JITTER_FRACTION = 0.1;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 60_000;

function unit(random: RandomSource): number {
  const r = random();
  if (!Number.isFinite(r) || r < 0) return 0;
  return r >= 1 ? 1 - Number.EPSILON : r;
}

/**
 * Delay after issue at which to refresh a token: 50 % of its life ± 10 % jitter.
 * Computed once per credential, when it is received.
 */
export function refreshDelayMs(issuedAt: number, expiresAt: number, random: RandomSource): number {
  const lifeMs = Math.max(0, expiresAt - issuedAt);
  const fraction = REFRESH_AT_FRACTION + (unit(random) * 2 - 1) * REFRESH_JITTER_FRACTION;
  return Math.round(lifeMs * fraction);
}

/**
 * Full-jitter exponential backoff: uniform in [0, min(cap, base · 2^attempt)).
 * `attempt` counts from 0 (the first retry after one failure).
 */
export function backoffDelayMs(attempt: number, random: RandomSource, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  const exp = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const ceiling = Math.min(capMs, baseMs * 2 ** exp);
  return Math.floor(unit(random) * ceiling);
}

/** Shortest pause between two refresh attempts once the remaining life bounds the backoff. */
export const MIN_RETRY_GAP_MS = 1_000;

/**
 * Pause before the next attempt after `attempt + 1` consecutive failures, while the token in hand
 * still has `remainingMs` to live: the full-jitter backoff, but never more than half of what is
 * left (and never less than MIN_RETRY_GAP_MS for that bound), as a DHCP client renews its lease.
 * A failed attempt is thus always followed by another while the token is still good — an outage
 * that ends before the token dies is bridged by a refresh ahead of expiry, not at the last
 * moment — and attempts grow denser only logarithmically as expiry nears. Once the token has
 * expired the plain backoff applies.
 */
export function retryDelayMs(attempt: number, remainingMs: number, random: RandomSource): number {
  const backoff = backoffDelayMs(attempt, random);
  if (!(remainingMs > 0)) return backoff;
  return Math.min(backoff, Math.max(MIN_RETRY_GAP_MS, Math.floor(remainingMs / 2)));
}

/**
 * Resolution of `issuedAt`: it comes from the JWT's `iat`, whole seconds, so the token was
 * really minted up to this much later than `issuedAt` says, and the skew estimate below may
 * be up to this much too large. The hard expiry is therefore taken this much early, so the
 * broker never serves a token past its real expiry (network latency aside: the control
 * plane's clock tolerance and the reactive 401 path absorb one trip).
 */
export const ISSUED_AT_RESOLUTION_MS = 1_000;

/** Local clock minus the control plane's clock, estimated when a credential arrives. */
export function estimateSkewMs(localNowAtReceipt: number, issuedAt: number): number {
  return localNowAtReceipt - issuedAt;
}

/** A control-plane time expressed on the local clock. */
export function toLocalMs(serverMs: number, skewMs: number): number {
  return serverMs + skewMs;
}

/** A token is usable strictly before its (local, skew-corrected) expiry. */
export function isExpired(localNow: number, expiresAtLocal: number): boolean {
  return localNow >= expiresAtLocal;
}

/**
 * When the next refresh attempt should run, in local time.
 * - `desiredAt`: the credential's jittered refresh point, or now + backoff after a failure.
 * - While the token is valid, never later than its expiry: the last attempt lands before the
 *   token dies. Once it has expired, the backoff time stands as is.
 * - Never in the past.
 */
export function nextAttemptAt(localNow: number, desiredAt: number, expiresAtLocal: number): number {
  const bounded = localNow < expiresAtLocal ? Math.min(desiredAt, expiresAtLocal) : desiredAt;
  return Math.max(localNow, bounded);
}

/** Everything the broker derives from one credential, once, at receipt. */
export interface CredentialTimes {
  skewMs: number;
  expiresAtLocal: number;
  refreshAtLocal: number;
}

export function planCredential(localNowAtReceipt: number, issuedAt: number, expiresAt: number, random: RandomSource): CredentialTimes {
  const skewMs = estimateSkewMs(localNowAtReceipt, issuedAt);
  return {
    skewMs,
    expiresAtLocal: toLocalMs(expiresAt, skewMs) - Math.min(ISSUED_AT_RESOLUTION_MS, Math.max(0, expiresAt - issuedAt) / 2),
    refreshAtLocal: toLocalMs(issuedAt + refreshDelayMs(issuedAt, expiresAt, random), skewMs),
  };
}
