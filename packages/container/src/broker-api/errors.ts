/** The broker API's single error mapping: typed `{error: {code, message}}` with the code's status. */
import { GastownError } from '@gastown/protocol';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../log/logger';

export function errorResponse(c: Context, err: GastownError): Response {
  return c.json(err.toBody(), err.status as ContentfulStatusCode);
}

export function makeErrorHandler(logger: Logger) {
  return function onBrokerError(err: Error, c: Context): Response {
    if (err instanceof GastownError) {
      if (err.status >= 500) logger.warn('broker_api.upstream_error', { code: err.code, path: c.req.path });
      return errorResponse(c, err);
    }
    logger.error('broker_api.internal_error', { err, path: c.req.path });
    return errorResponse(c, new GastownError('internal', 'internal error'));
  };
}
