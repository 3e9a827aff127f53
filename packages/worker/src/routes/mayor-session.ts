import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/types';
import { resetMayorSessionRoute } from '../openapi/session-routes';
import { describeUnexpected, unwrap } from '../town/rpc-result';

/**
 * `DELETE /api/towns/:townId/mayor/session`: forget the mayor's conversation. The TownDO stops a
 * running mayor and drops the record (so no later start restores it); then the snapshot's object
 * goes from R2 — best effort: once the record is gone nothing can reach that object any more.
 */
export function registerMayorSessionRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory, sessions, logger } = deps;

  app.openapi(resetMayorSessionRoute, async function resetMayorSession(c) {
    const { townId } = c.req.valid('param');
    const { deleted, stopped, objectKey } = unwrap(await directory.town(townId).resetMayorSession(c.get('userId')));
    if (objectKey !== null) {
      try {
        await sessions.delete(objectKey);
      } catch (err) {
        logger.warn({ msg: 'session snapshot object not deleted', townId, why: 'reset', error: describeUnexpected(err) });
      }
    }
    return c.json({ deleted, stopped }, 200);
  });
}
