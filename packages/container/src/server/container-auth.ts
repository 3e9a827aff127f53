import { createHash, timingSafeEqual } from 'node:crypto';
import { CONTAINER_KEY_HEADER, GastownError } from '@gastown/protocol';
import type { MiddlewareHandler } from 'hono';

/** Constant-time equality of two secrets of any length (compares SHA-256 digests). */
export function secretsEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export interface ContainerAuthOptions {
  containerKey: string;
  /** Requests that pass without the key (method + path), e.g. the readiness probe. */
  publicRoutes?: ReadonlyArray<{ method: string; path: string }>;
}

/**
 * Every request must carry CONTAINER_KEY_HEADER equal to the container key, else
 * 401 container_unauthorized — checked before routing, so an unknown path without a
 * key is a 401 too and no handler ever runs.
 */
export function containerAuth(options: ContainerAuthOptions): MiddlewareHandler {
  if (typeof options.containerKey !== 'string' || options.containerKey.length < 16) {
    throw new GastownError('internal', 'container key must be at least 16 characters');
  }
  const key = options.containerKey;
  const publicRoutes = options.publicRoutes ?? [];
  return async function requireContainerKey(c, next) {
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    if (publicRoutes.some((r) => r.method === method && r.path === c.req.path)) return next();
    const presented = c.req.header(CONTAINER_KEY_HEADER);
    if (presented === undefined || presented.length === 0) throw new GastownError('container_unauthorized', 'missing container key');
    if (!secretsEqual(presented, key)) throw new GastownError('container_unauthorized', 'invalid container key');
    return next();
  };
}
