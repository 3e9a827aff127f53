/**
 * A failed API call: the server's `{error: {code, message}}` when it sent one, otherwise a
 * client-side code (`network_error`, `bad_response`). Callers switch on `code`.
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The user token is missing, expired or otherwise unusable: the page signs out. */
  get isAuthFailure(): boolean {
    return this.status === 401;
  }
}

/** Turn a non-2xx response body into an ApiError (the server's code and message when present). */
export function errorFromBody(status: number, body: unknown): ApiError {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const error = (body as { error: unknown }).error;
    if (typeof error === 'object' && error !== null) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      if (typeof code === 'string') return new ApiError(code, typeof message === 'string' ? message : code, status);
    }
  }
  return new ApiError('bad_response', `the server answered ${status} without an error body`, status);
}

/**
 * Split a `validation_failed` message ("body.provider.baseUrl: Invalid URL; body.sleepAfterSeconds: Too small")
 * into field → message, keyed by the path without its `body.`/`query.` prefix (`(body)` for the body itself). Pure.
 */
export function fieldErrors(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(/;\s*/)) {
    const m = /^(?:body|query|path|header)\.?([^:]*):\s*(.+)$/.exec(part.trim());
    if (!m) continue;
    const field = (m[1] ?? '').trim() || '(body)';
    const text = (m[2] ?? '').trim();
    out.set(field, out.has(field) ? `${out.get(field)}; ${text}` : text);
  }
  return out;
}
