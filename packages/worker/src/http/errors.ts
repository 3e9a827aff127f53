import { GastownError, type ErrorCode } from '@gastown/protocol';
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { describeUnexpected, type Logger } from '../town/rpc-result';

const TARGET_NAMES: Record<string, string> = { json: 'body', param: 'path', query: 'query', header: 'header' };

/**
 * Object keys come from the client (record keys, unknown keys): one is named only when it looks
 * like a field or env var name, anything else (a pasted secret, a hostile string) shows as `<key>`.
 */
function safeKey(key: string): string {
  const digits = key.replace(/\D/g, '').length;
  return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key) && digits < 4 ? key : '<key>';
}

function issueMessage(issue: ZodError['issues'][number]): string {
  if (issue.code !== 'unrecognized_keys') return issue.message;
  return `Unrecognized key${issue.keys.length === 1 ? '' : 's'}: ${issue.keys.map((k) => `"${safeKey(k)}"`).join(', ')}`;
}

/** "body.title: Too small …; body: Unrecognized key: "x"" — paths and zod's messages, never input values. */
export function formatZodError(error: Pick<ZodError, 'issues'>, target: string): string {
  const prefix = TARGET_NAMES[target] ?? target;
  const parts = error.issues.slice(0, 10).map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${safeKey(String(p))}`)).join('');
    return `${prefix}${path}: ${issueMessage(issue)}`;
  });
  if (error.issues.length > 10) parts.push(`… and ${error.issues.length - 10} more`);
  return parts.join('; ');
}

/** zod-openapi `defaultHook`: a failed validation becomes our typed 400. */
export function validationHook(result: { success: boolean; target: string; error?: unknown }): void {
  if (!result.success) {
    throw new GastownError('validation_failed', formatZodError(result.error as Pick<ZodError, 'issues'>, result.target));
  }
}

function codeForHttpStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'bad_json';
    case 401:
      return 'token_missing';
    case 404:
      return 'not_found';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    default:
      return status < 500 ? 'validation_failed' : 'internal';
  }
}

export function errorJson(c: Context, code: ErrorCode, message: string, status: number): Response {
  return c.json({ error: { code, message } }, status as ContentfulStatusCode);
}

/** The one error handler: GastownError.code → ERROR_STATUS; anything unexpected is a logged 500 with no detail. */
export function createErrorHandler(logger: Logger): ErrorHandler {
  return function onError(err, c) {
    if (err instanceof GastownError) {
      if (err.status >= 500) logger.warn({ msg: 'request failed', path: c.req.path, code: err.code });
      return errorJson(c, err.code, err.message, err.status);
    }
    if (err instanceof HTTPException) {
      const code = codeForHttpStatus(err.status);
      return errorJson(c, code, code === 'bad_json' ? 'request body is not valid JSON' : err.message || code, err.status);
    }
    logger.error({ msg: 'unhandled error', path: c.req.path, error: describeUnexpected(err) });
    return errorJson(c, 'internal', 'internal error', 500);
  };
}

export const notFoundHandler: NotFoundHandler = function notFound(c) {
  return errorJson(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`, 404);
};
