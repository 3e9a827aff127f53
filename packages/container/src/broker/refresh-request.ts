/**
 * One refresh call to the control plane: `POST /agent/towns/:townId/refresh` with the
 * refresh credential as Bearer. Classifies every outcome; never logs or throws a secret.
 */
import { AGENT_API, AgentCredentialsSchema, parseErrorBody, routePath } from '@gastown/protocol';
import type { AgentCredentials, ErrorCode } from '@gastown/protocol';

/** Codes after which the refresh credential is dead: stop retrying. */
export const FATAL_REFRESH_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['refresh_invalid', 'refresh_reused', 'token_revoked']);

export type RefreshOutcome =
  | { kind: 'ok'; credentials: AgentCredentials }
  /** The control plane refused the credential for good. */
  | { kind: 'fatal'; code: ErrorCode; status: number }
  /** Worth retrying: network error, timeout, 5xx, 429, unexpected body or status. */
  | { kind: 'transient'; code: ErrorCode; status: number | null; detail: string };

export interface RefreshRequestInput {
  fetch: typeof fetch;
  controlPlaneUrl: string;
  townId: string;
  refreshCredential: string;
  timeoutMs: number;
}

export function refreshUrl(controlPlaneUrl: string, townId: string): string {
  return `${controlPlaneUrl.replace(/\/+$/, '')}${routePath(AGENT_API.refresh, { townId })}`;
}

export async function requestRefresh(input: RefreshRequestInput): Promise<RefreshOutcome> {
  let response: Response;
  try {
    response = await input.fetch(refreshUrl(input.controlPlaneUrl, input.townId), {
      method: 'POST',
      headers: { authorization: `Bearer ${input.refreshCredential}`, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(input.timeoutMs),
    });
  } catch (err) {
    const name = err instanceof Error ? err.name : 'Error';
    return { kind: 'transient', code: 'control_plane_unavailable', status: null, detail: name === 'TimeoutError' ? 'timeout' : 'network error' };
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok) {
    const parsed = AgentCredentialsSchema.safeParse(body);
    if (parsed.success) return { kind: 'ok', credentials: parsed.data };
    return { kind: 'transient', code: 'upstream_failed', status: response.status, detail: 'invalid refresh response body' };
  }
  const error = parseErrorBody(body);
  if (error && FATAL_REFRESH_CODES.has(error.error.code)) return { kind: 'fatal', code: error.error.code, status: response.status };
  const code: ErrorCode = error?.error.code ?? (response.status >= 500 || response.status === 429 ? 'control_plane_unavailable' : 'upstream_failed');
  return { kind: 'transient', code, status: response.status, detail: `http ${response.status}` };
}
