// No imports: safe for the dashboard bundle, which must not pull zod in (errors.ts adds the zod schemas).
/**
 * Every error code that crosses a wire. Clients switch on `code`, never on `message`.
 * The HTTP status of each code is fixed here so both sides agree.
 */
export const ERROR_STATUS = {
  // credential errors (agent and user tokens)
  token_missing: 401,
  token_malformed: 401,
  token_expired: 401,
  token_bad_signature: 401,
  token_unknown_key: 401,
  token_revoked: 401,
  token_scope: 403,
  // refresh credential errors
  refresh_invalid: 401,
  refresh_reused: 401,
  // container-side: the broker could not keep a valid token (control plane unreachable past expiry)
  credentials_expired: 401,
  // authorisation
  admin_unauthorized: 401,
  container_unauthorized: 401,
  broker_unauthorized: 401,
  role_forbidden: 403,
  // a model the town does not allow (gt_sling's model, a rig override, a model proxy request naming another model)
  model_not_allowed: 403,
  // the town's spend cap is reached: no new work until it is raised
  spend_cap_reached: 402,
  // a git host's webhook delivery without a valid signature (X-Hub-Signature-256 / X-Gitlab-Token)
  webhook_unauthorized: 401,
  // request shape
  bad_json: 400,
  validation_failed: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  // resources
  not_found: 404,
  conflict: 409,
  // the approved commit is not the tip of the branch the merge request names (packages/container/src/git)
  changed_since_review: 409,
  rate_limited: 429,
  // dependencies
  container_unavailable: 503,
  control_plane_unavailable: 503,
  upstream_failed: 502,
  // a stored session snapshot failed its checksum, format or schema check: never restored
  snapshot_corrupt: 422,
  // a rig's git host refused its credentials (wrong key, app not installed on the repository, missing permission, expired token)
  git_auth_failed: 422,
  // a rig's repository could not be read when it was added (no repository at the URL, private without credentials, host unreachable)
  git_remote_unreachable: 422,
  // configuration (a deployment or startup setting is missing or invalid: fail fast)
  config_invalid: 500,
  internal: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/**
 * Codes after which a consumer should refresh its access token once and retry.
 * `token_unknown_key` is included: after an emergency key rotation (or an old key removed too
 * early) a refresh — which does not depend on signing keys — heals the agent at once instead of
 * at its next scheduled refresh.
 */
export const REFRESHABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['token_expired', 'token_revoked', 'token_unknown_key']);

/** The JSON body of every error answer (validated by ErrorBodySchema in errors.ts). */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** Base class of every typed error in Gastown. `code` is stable; `message` is for humans and never holds a secret. */
export class GastownError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GastownError';
    this.code = code;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Family of credential errors: `instanceof CredentialError` holds for every token_* and refresh_* code. */
export class CredentialError extends GastownError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'CredentialError';
  }
}

/** The code of an error: its own when it is one of ours, else `fallback`. The one place that asks. */
export function codeOf(err: unknown, fallback: ErrorCode = 'internal'): ErrorCode {
  return err instanceof GastownError ? err.code : fallback;
}

/**
 * The error as a GastownError: itself when it is one, else a new one with `fallback` and a
 * message that names only the error's kind (a foreign error's message may hold anything).
 */
export function asGastownError(err: unknown, fallback: ErrorCode = 'internal', message = 'unexpected error'): GastownError {
  if (err instanceof GastownError) return err;
  return new GastownError(fallback, message, { cause: err });
}

export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}
