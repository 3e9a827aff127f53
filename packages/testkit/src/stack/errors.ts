/** Typed errors of the stack launcher: callers switch on `code`. Messages never hold a secret. */
export type StackErrorCode =
  /** A process failed to spawn, exited early, or never printed its ready line. */
  | 'stack_start_failed'
  /** A readiness probe (`GET /health`) did not succeed in time. */
  | 'stack_not_ready'
  /** An HTTP call to the worker or the host answered with an unexpected status. */
  | 'stack_http_failed'
  /** A bad option (port, directory, key material). */
  | 'stack_bad_option'
  /** A condition awaited by a helper did not hold in time. */
  | 'stack_timeout';

export class StackError extends Error {
  readonly code: StackErrorCode;
  constructor(code: StackErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StackError';
    this.code = code;
  }
}

/** An HTTP answer with a typed `{error:{code}}` body, kept for assertions. */
export class StackHttpError extends StackError {
  readonly status: number;
  readonly errorCode: string | null;
  constructor(what: string, status: number, errorCode: string | null, detail: string) {
    super('stack_http_failed', `${what}: HTTP ${status}${errorCode ? ` ${errorCode}` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = 'StackHttpError';
    this.status = status;
    this.errorCode = errorCode;
  }
}
