/**
 * Typed CLI errors. Every failure the user can see is a CliError with a stable `code` and the
 * process exit code that goes with it. Messages are for humans and never hold a token or secret.
 */

/** Exit code of each failure family (documented in docs/CLI.md). */
export const EXIT_CODES = {
  ok: 0,
  /** The request reached the server and failed (5xx, a container failure, an unexpected answer). */
  failed: 1,
  /** Bad command line or bad input (including the server's 400 validation errors). */
  usage: 2,
  /** The server could not be reached. */
  unreachable: 3,
  /** No token, or the server rejected the token (401/403). */
  auth: 4,
  /** Unknown town, agent, rig or route (404). */
  notFound: 5,
  /** The request conflicts with the server's state (409: duplicate name, stopped agent…), or
   *  `gastown dev` found another stack running on the same state directory. */
  conflict: 6,
  /** Waited for longer than --timeout. */
  timeout: 7,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

export type CliErrorCode =
  | 'usage'
  | 'config_invalid'
  | 'unreachable'
  | 'token_missing'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'invalid_input'
  | 'conflict'
  | 'already_running'
  | 'server_error'
  | 'bad_response'
  | 'timeout'
  | 'interrupted'
  | 'failed';

const EXIT_BY_CODE: Record<CliErrorCode, number> = {
  usage: EXIT_CODES.usage,
  config_invalid: EXIT_CODES.usage,
  unreachable: EXIT_CODES.unreachable,
  token_missing: EXIT_CODES.auth,
  unauthorized: EXIT_CODES.auth,
  forbidden: EXIT_CODES.auth,
  not_found: EXIT_CODES.notFound,
  invalid_input: EXIT_CODES.usage,
  conflict: EXIT_CODES.conflict,
  already_running: EXIT_CODES.conflict,
  server_error: EXIT_CODES.failed,
  bad_response: EXIT_CODES.failed,
  timeout: EXIT_CODES.timeout,
  interrupted: EXIT_CODES.interrupted,
  failed: EXIT_CODES.failed,
};

export interface CliErrorDetails {
  /** HTTP status, when the error is a server answer. */
  status?: number;
  /** The server's error code (`token_expired`, `validation_failed`…), when there is one. */
  serverCode?: string;
  /** Extra lines printed after the message (hints). */
  hint?: string;
  /** Usage text to print with a usage error. */
  usage?: string;
}

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly details: CliErrorDetails;
  constructor(code: CliErrorCode, message: string, details: CliErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
    this.details = details;
  }

  get exitCode(): number {
    return EXIT_BY_CODE[this.code];
  }

  /** The machine-readable form printed with --json. */
  toJson(): { error: { code: CliErrorCode; message: string; status?: number; serverCode?: string } } {
    return { error: { code: this.code, message: this.message, status: this.details.status, serverCode: this.details.serverCode } };
  }
}

export function usageError(message: string, usage?: string): CliError {
  return new CliError('usage', message, { usage });
}
