import type { OpenAPIHono } from '@hono/zod-openapi';
import { mintUserToken } from '../auth';
import type { AppDeps, AppEnv } from '../http/types';
import { createUserTokenRoute } from '../openapi/user-routes';

/** Default lifetime of a user token minted by the admin endpoint: 30 days. */
export const DEFAULT_USER_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

export function registerAdminRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(createUserTokenRoute, async function createUserToken(c) {
    const req = c.req.valid('json');
    const minted = await mintUserToken(deps.auth, req.userId, { ttlSeconds: req.ttlSeconds ?? DEFAULT_USER_TOKEN_TTL_SECONDS, now: deps.clock.now() });
    deps.logger.info({ msg: 'user token minted', userId: req.userId, expiresAt: minted.expiresAt });
    return c.json({ token: minted.token, userId: req.userId, expiresAt: minted.expiresAt }, 201);
  });
}
