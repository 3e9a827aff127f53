import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/types';
import { listModelsRoute } from '../openapi/model-routes';
import { unwrap } from '../town/rpc-result';

/** `GET /api/towns/:townId/models`: what the town's provider offers, for the model pickers (the TownDO holds the key and asks). */
export function registerModelRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(listModelsRoute, async function listModels(c) {
    const { townId } = c.req.valid('param');
    return c.json(unwrap(await directory.town(townId).listModels(c.get('userId'))), 200);
  });
}
