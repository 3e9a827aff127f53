import { CredentialError, GastownError, type ErrorCode } from '@gastown/protocol';

/**
 * Which class of the error family an error crossed the boundary as: `credential` for a
 * CredentialError (every token_* / refresh_* refusal), `gastown` for any other GastownError.
 */
export type RpcErrorFamily = 'gastown' | 'credential';

/**
 * What a Durable Object RPC method returns. Errors cross the RPC boundary as data, because
 * custom error classes and their `code` do not survive serialisation; the worker rethrows them,
 * as the same family (`instanceof CredentialError` holds on both sides).
 */
export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode; message: string; family: RpcErrorFamily } };

export type Logger = Pick<Console, 'info' | 'warn' | 'error'>;

/** Run a DO operation; typed errors become data, anything else is logged and becomes `internal`. */
export async function toRpcResult<T>(logger: Logger, operation: string, fn: () => T | Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof GastownError) {
      return { ok: false, error: { code: err.code, message: err.message, family: err instanceof CredentialError ? 'credential' : 'gastown' } };
    }
    logger.error({ msg: 'unexpected error in durable object', operation, error: describeUnexpected(err) });
    return { ok: false, error: { code: 'internal', message: 'internal error', family: 'gastown' } };
  }
}

/** Worker side: the value, or the DO's typed error rethrown as the class it was thrown as. */
export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  const { code, message, family } = result.error;
  throw family === 'credential' ? new CredentialError(code, message) : new GastownError(code, message);
}

/** Name and first line of an unexpected error (SQL and runtime errors hold no bound values). */
export function describeUnexpected(err: unknown): string {
  if (!(err instanceof Error)) return 'non-error thrown';
  return `${err.name}: ${err.message.split('\n')[0]?.slice(0, 200) ?? ''}`;
}
