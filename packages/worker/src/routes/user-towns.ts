import type { OpenAPIHono } from '@hono/zod-openapi';
import { GastownError, gitUrlProblem, type Town } from '@gastown/protocol';
import type { AppDeps, AppEnv } from '../http/types';
import { addRigRoute, createTownRoute, getTownRoute, listRigsRoute, listTownsRoute, updateRigRoute, updateTownConfigRoute } from '../openapi/user-routes';
import { unwrap } from '../town/rpc-result';

/** Towns, their config and rigs. A town another user owns answers 404, exactly like a missing one. */
export function registerTownRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(listTownsRoute, async function listTowns(c) {
    const userId = c.get('userId');
    const entries = unwrap(await directory.registry(userId).listTowns());
    const towns: Town[] = [];
    for (const entry of entries) {
      const result = await directory.town(entry.id).getTown(userId);
      if (result.ok) towns.push(result.value);
    }
    return c.json({ towns }, 200);
  });

  app.openapi(createTownRoute, async function createTown(c) {
    const userId = c.get('userId');
    const { name } = c.req.valid('json');
    const id = deps.ids('town');
    const registry = directory.registry(userId);
    unwrap(await registry.addTown(id, name));
    const created = await directory.town(id).initTown({ id, name, ownerId: userId, origin: new URL(c.req.url).origin });
    if (!created.ok) {
      await registry.removeTown(id);
      throw new GastownError(created.error.code, created.error.message);
    }
    return c.json({ town: created.value }, 201);
  });

  app.openapi(getTownRoute, async function getTown(c) {
    const { townId } = c.req.valid('param');
    return c.json({ town: unwrap(await directory.town(townId).getTown(c.get('userId'))) }, 200);
  });

  app.openapi(updateTownConfigRoute, async function updateTownConfig(c) {
    const { townId } = c.req.valid('param');
    const patch = c.req.valid('json');
    return c.json({ town: unwrap(await directory.town(townId).updateConfig(c.get('userId'), patch, new URL(c.req.url).origin)) }, 200);
  });

  app.openapi(listRigsRoute, async function listRigs(c) {
    const { townId } = c.req.valid('param');
    return c.json({ rigs: unwrap(await directory.town(townId).listRigs(c.get('userId'))) }, 200);
  });

  app.openapi(addRigRoute, async function addRig(c) {
    const { townId } = c.req.valid('param');
    const req = c.req.valid('json');
    const problem = gitUrlProblem(req.gitUrl);
    if (problem) throw new GastownError('validation_failed', `body.gitUrl: ${problem}`);
    return c.json({ rig: unwrap(await directory.town(townId).addRig(c.get('userId'), req)) }, 201);
  });

  app.openapi(updateRigRoute, async function updateRig(c) {
    const { townId, rigId } = c.req.valid('param');
    return c.json({ rig: unwrap(await directory.town(townId).updateRig(c.get('userId'), rigId, c.req.valid('json'))) }, 200);
  });
}
