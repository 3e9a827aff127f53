import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/types';
import { restartContainerRoute } from '../openapi/container-routes';
import { unwrap } from '../town/rpc-result';

/** `POST /api/towns/:townId/container/restart`: the owner restarts the town's container (202 `{ wasRunning }`). */
export function registerContainerRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(restartContainerRoute, async function restartContainer(c) {
    const { townId } = c.req.valid('param');
    return c.json(unwrap(await directory.town(townId).restartContainer(c.get('userId'))), 202);
  });
}
