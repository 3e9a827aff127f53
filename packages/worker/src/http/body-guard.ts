import { readJsonRequestBody } from '@gastown/protocol';
import type { MiddlewareHandler } from 'hono';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Request-body gate for every body route, before any validation: the shared JSON body contract
 * of @gastown/protocol (`readJsonRequestBody`: 413 payload_too_large, 415 unsupported_media_type,
 * 400 bad_json). The read text is cached for the zod validator. An empty body reads as `{}` (so
 * argument-less calls need no body).
 */
export function jsonBodyGuard(maxBytes: number): MiddlewareHandler {
  return async function guardJsonBody(c, next) {
    if (!METHODS_WITH_BODY.has(c.req.method)) return next();
    const body = await readJsonRequestBody(c.req.raw, maxBytes);
    c.req.bodyCache.text = Promise.resolve(body ? body.text : '{}') as never;
    return next();
  };
}
