/**
 * Pull-request strategy, the pure part: where a merge request bead keeps its pull request, which
 * stage it is at, and the text of the pull request. A merge request whose approved commit was
 * pushed (merge-result `pushed`) waits `in_progress` for its pull request to be opened
 * (`pending_open`, retried by the alarm) and then for a human to merge or close it (`open`,
 * followed by webhook and by polling).
 */
import { PullRequestRefSchema, type Bead, type PullRequestRef } from '@gastown/protocol';

/** Metadata keys of a merge request bead (and `pullRequest` also on its source bead). */
export const PR_KEYS = {
  ref: 'pullRequest',
  pending: 'pullRequestPending',
  pushedCommit: 'pushedCommit',
  openAttempts: 'pullRequestOpenAttempts',
  retryAt: 'pullRequestRetryAt',
  polledAt: 'pullRequestPolledAt',
  pollFailures: 'pullRequestPollFailures',
} as const;

export type PullRequestStage = 'pending_open' | 'open';

/** The pull request recorded on a bead, or null. */
export function pullRequestOf(bead: Pick<Bead, 'metadata'>): PullRequestRef | null {
  const parsed = PullRequestRefSchema.safeParse(bead.metadata[PR_KEYS.ref]);
  return parsed.success ? parsed.data : null;
}

/** Where an in-progress merge request stands with its pull request (null: not the pull-request strategy, or settled). */
export function pullRequestStage(bead: Pick<Bead, 'type' | 'status' | 'metadata'>): PullRequestStage | null {
  if (bead.type !== 'merge_request' || bead.status !== 'in_progress') return null;
  const ref = pullRequestOf(bead);
  if (ref) return ref.state === 'open' ? 'open' : null;
  return bead.metadata[PR_KEYS.pending] === true ? 'pending_open' : null;
}

/** When the alarm next acts on it: the open retry (pending_open) or the next poll (open). Pure. */
export function pullRequestDueAt(bead: Pick<Bead, 'type' | 'status' | 'metadata'>, pollMs: number): number | null {
  const stage = pullRequestStage(bead);
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  if (stage === 'pending_open') return num(bead.metadata[PR_KEYS.retryAt]) ?? 0;
  if (stage === 'open') return (num(bead.metadata[PR_KEYS.polledAt]) ?? 0) + pollMs;
  return null;
}

/** The pull request's description: the bead's body, then where it comes from. */
export function pullRequestBody(source: Pick<Bead, 'id' | 'body'> | null, mergeRequestId: string, branch: string, commit: string): string {
  const origin = `Bead ${source?.id ?? mergeRequestId}, branch ${branch}, commit ${commit}.`;
  const body = source?.body.trim() ?? '';
  return (body === '' ? origin : `${body}\n\n---\n${origin}`).slice(0, 60_000);
}

/** The review feedback a pull request closed without merging leaves on its source bead. */
export function closedUnmergedFeedback(number: number): string {
  return `pull request #${number} closed without merging`;
}
