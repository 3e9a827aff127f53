import type { Bead, BeadStatus, CompletionRequest } from '@gastown/protocol';

/** After this many failed attempts a bead is `failed` instead of going back to `open`. */
export const MAX_BEAD_ATTEMPTS = 3;

export type CompletionOutcome = CompletionRequest['outcome'];

/**
 * Bead metadata key: the polecat whose run was drained (its container went away) while it held the
 * bead in progress. The bead stays assigned to it and the reconciler re-dispatches that same polecat
 * (same branch) at once, without spending an attempt.
 */
export const DRAINED_BY_KEY = 'drainedBy';

/** A change to apply to a bead, or null for "leave it as it is". */
export interface BeadTransition {
  status: BeadStatus;
  attempts: number;
  assigneeId: string | null;
}

/**
 * What a polecat's exit does to its bead. Pure.
 * - completed after `done` (bead in review): unchanged.
 * - completed without `done`, or failed: one more attempt; `failed` at the cap, else back to `open`.
 * - stopped: back to `open` without spending an attempt.
 * - drained (the container went away; the work is committed and pushed on the polecat's branch):
 *   unchanged — an `in_progress` bead stays assigned and its polecat is re-dispatched (DRAINED_BY_KEY).
 * A bead that is already closed or failed never moves.
 */
export function beadAfterCompletion(bead: Bead, outcome: CompletionOutcome): BeadTransition | null {
  if (bead.status === 'closed' || bead.status === 'failed') return null;
  if (outcome === 'drained') return null;
  if (outcome === 'completed' && bead.status === 'in_review') return null;
  if (outcome === 'stopped') return bead.status === 'in_review' ? null : { status: 'open', attempts: bead.attempts, assigneeId: null };
  const attempts = bead.attempts + 1;
  return { status: attempts >= MAX_BEAD_ATTEMPTS ? 'failed' : 'open', attempts, assigneeId: null };
}

/** Append an entry to a list kept in bead metadata (review feedback, merge failures). */
export function appendToMetadataList(metadata: Record<string, unknown>, key: string, entry: Record<string, unknown>): Record<string, unknown> {
  const existing = Array.isArray(metadata[key]) ? (metadata[key] as unknown[]) : [];
  return { ...metadata, [key]: [...existing, entry] };
}

/**
 * A failed attempt at an issue bead (start failure, lost run, completion without `done`): one more
 * attempt; at the cap `failed`, else `open` again with `metadata.retryAt` after an exponential
 * backoff. `countAttempt: false` reopens with the backoff of the attempts already spent (a failure
 * whose attempt was counted already). Pure.
 */
export function retryTransition(
  bead: Bead,
  now: number,
  policy: { maxAttempts: number; backoffBaseMs: number; backoffMaxMs: number },
  countAttempt = true,
): { status: BeadStatus; attempts: number; assigneeId: null; metadata: Record<string, unknown> } {
  const attempts = countAttempt ? bead.attempts + 1 : Math.max(bead.attempts, 1);
  if (attempts >= policy.maxAttempts) return { status: 'failed', attempts, assigneeId: null, metadata: bead.metadata };
  return {
    status: 'open',
    attempts,
    assigneeId: null,
    metadata: { ...bead.metadata, retryAt: now + backoffMs(attempts, policy.backoffBaseMs, policy.backoffMaxMs) },
  };
}

/** Bead metadata key: starts refused because the town's container could not be had (container_unavailable). */
export const UNAVAILABLE_TRIES_KEY = 'containerUnavailableTries';
/** Starts a bead may have refused as `container_unavailable` without spending an attempt (a cold start, a deploy's rollout). */
export const FREE_UNAVAILABLE_TRIES = 8;
const UNAVAILABLE_PAUSE_MS = 2_000;
const UNAVAILABLE_MAX_PAUSE_MS = 60_000;

/**
 * A start the town's container could not take (`container_unavailable`: a cold start past its
 * limit, "no Container instance" for minutes after a first deploy, 429, a rollout). Not the bead's
 * fault: `open` again without spending an attempt — a counted one is given back — after a pause of
 * 2 s doubling to 60 s. Past FREE_UNAVAILABLE_TRIES such starts, null: the caller counts it as any
 * failed attempt, so a container that never comes up still fails the bead and tells the humans. Pure.
 */
export function unavailableTransition(
  bead: Bead,
  now: number,
  attemptCounted: boolean,
): { status: BeadStatus; attempts: number; assigneeId: null; metadata: Record<string, unknown> } | null {
  const previous = bead.metadata[UNAVAILABLE_TRIES_KEY];
  const tries = (typeof previous === 'number' && Number.isFinite(previous) ? previous : 0) + 1;
  if (tries > FREE_UNAVAILABLE_TRIES) return null;
  return {
    status: 'open',
    attempts: attemptCounted ? Math.max(0, bead.attempts - 1) : bead.attempts,
    assigneeId: null,
    metadata: { ...bead.metadata, [UNAVAILABLE_TRIES_KEY]: tries, retryAt: now + Math.min(UNAVAILABLE_MAX_PAUSE_MS, UNAVAILABLE_PAUSE_MS * 2 ** (tries - 1)) },
  };
}

/** Retry delay after `attempts` failed attempts: base · 2^(attempts − 1), capped. Pure. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  if (attempts <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 30));
}
