import { GastownError } from '@gastown/protocol';
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../log/logger';

/** The one place errors become responses: GastownError → its fixed status and `{error: {code, message}}`. */
export function errorHandler(logger: Logger): ErrorHandler {
  return function onError(error: unknown, c: Context) {
    if (error instanceof GastownError) {
      if (error.status >= 500) logger.error('control.request_failed', { code: error.code, error: error.message, path: c.req.path });
      return c.json(error.toBody(), error.status as ContentfulStatusCode);
    }
    logger.error('control.unhandled_error', { error: error instanceof Error ? error.message : String(error), path: c.req.path });
    return c.json(new GastownError('internal', 'internal error').toBody(), 500);
  };
}

export const notFoundHandler: NotFoundHandler = function notFound(c) {
  return c.json(new GastownError('not_found', 'no such route').toBody(), 404);
};
