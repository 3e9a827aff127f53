import type { OpenAPIHono } from '@hono/zod-openapi';
import type { DeleteTownResponse } from '@gastown/protocol';
import type { AppDeps, AppEnv } from '../http/types';
import { deleteRigRoute, deleteTownRoute } from '../openapi/deletion-routes';
import { describeUnexpected, unwrap } from '../town/rpc-result';

/**
 * `DELETE …/rigs/:rigId` and `DELETE /api/towns/:townId`. A town: the TownDO destroys its container,
 * revokes every credential and deletes its storage; then its session objects go from R2 (best
 * effort: nothing can reach them once the rows are gone) and its registry entry, so it leaves
 * the user's list. Another user's town or rig answers 404 like a missing one.
 */
export function registerDeletionRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory, sessions, logger } = deps;

  app.openapi(deleteRigRoute, async function deleteRig(c) {
    const { townId, rigId } = c.req.valid('param');
    return c.json(unwrap(await directory.town(townId).deleteRig(c.get('userId'), rigId)), 200);
  });

  app.openapi(deleteTownRoute, async function deleteTown(c) {
    const { townId } = c.req.valid('param');
    const userId = c.get('userId');
    const plan = unwrap(await directory.town(townId).deleteTown(userId));
    let sessionObjectsRemoved = 0;
    for (const key of plan.sessionObjectKeys) {
      try {
        await sessions.delete(key);
        sessionObjectsRemoved += 1;
      } catch (err) {
        logger.warn({ msg: 'session snapshot object not deleted', townId, why: 'town deleted', error: describeUnexpected(err) });
      }
    }
    unwrap(await directory.registry(userId).removeTown(townId));
    const body: DeleteTownResponse = { deleted: true, townId, containerWasRunning: plan.containerWasRunning, sessionObjectsRemoved };
    return c.json(body, 200);
  });
}
