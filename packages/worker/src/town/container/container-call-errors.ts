import { GastownError, parseErrorBody } from '@gastown/protocol';

/**
 * Failures of @cloudflare/containers (0.3.7) as the town sees them: each is `container_unavailable`
 * (503: try again later, not charged as a failed attempt of the work), never `upstream_failed`
 * (the container answered and refused). The library reports them two ways:
 * - thrown by `startAndWaitForPorts`: "there is no container instance …" (provisioning after a
 *   first deploy, or max_instances reached), "… too many containers per second", a crash while
 *   booting, a port that never listened, an abort;
 * - answered by `containerFetch` as plain-text HTTP: 503 (no instance), 429 (rate limited),
 *   500 ("Failed to start container", "Container suddenly disconnected", "Error proxying request").
 * The container's own errors are JSON `{error: {code, message}}` bodies and pass through as answers.
 * Messages are fixed strings: the library's text may quote the request and is not passed on.
 */
const NO_INSTANCE = 'there is no container instance';
const RATE_LIMITED = 'too many containers per second';

/** Statuses the library answers with when it, not the container, failed. */
const LIBRARY_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503]);

/** A thrown library error (or anything thrown while starting or reaching the container) as `container_unavailable`. */
export function unavailableFromThrown(err: unknown): GastownError {
  if (err instanceof GastownError) return err;
  const text = (err instanceof Error ? err.message : String(err)).toLowerCase();
  if (text.includes(NO_INSTANCE)) return noInstance();
  if (text.includes(RATE_LIMITED)) return rateLimited();
  return new GastownError('container_unavailable', 'the town container failed to start or could not be reached');
}

/**
 * An HTTP answer from `containerFetch` that is the library's, not the container's: the typed
 * error to throw instead of passing it on, or null when the container itself answered.
 */
export function unavailableFromAnswer(status: number, body: string): GastownError | null {
  if (!LIBRARY_STATUSES.has(status) || isContainerErrorBody(body)) return null;
  if (status === 503) return noInstance();
  if (status === 429) return rateLimited();
  return new GastownError('container_unavailable', `the town container failed to start or dropped the request (HTTP ${status})`);
}

/** The call did not finish within its budget. */
export function callTimedOut(budgetMs: number): GastownError {
  return new GastownError('container_unavailable', `the town container did not answer within ${Math.round(budgetMs / 1000)} s`);
}

function noInstance(): GastownError {
  return new GastownError('container_unavailable', 'no container instance is available yet (provisioning after a deploy, or max_instances reached)');
}

function rateLimited(): GastownError {
  return new GastownError('container_unavailable', 'too many container starts at once; try again shortly');
}

function isContainerErrorBody(body: string): boolean {
  try {
    return parseErrorBody(JSON.parse(body) as unknown) !== null;
  } catch {
    return false;
  }
}
