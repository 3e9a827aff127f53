import type { OpenAPIHono } from '@hono/zod-openapi';
import { GastownError } from '@gastown/protocol';
import type { AppDeps, AppEnv } from '../http/types';
import { usageRoute } from '../openapi/usage-routes';
import { unwrap } from '../town/rpc-result';

/** `GET /api/towns/:townId/usage?by=&from=&to=`: the town's model usage and cost (the TownDO sums it). */
export function registerUsageRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(usageRoute, async function getUsage(c) {
    const { townId } = c.req.valid('param');
    const query = c.req.valid('query');
    if (query.from !== undefined && query.to !== undefined && query.from > query.to) {
      throw new GastownError('validation_failed', 'query: from must not be after to');
    }
    return c.json(unwrap(await directory.town(townId).usage(c.get('userId'), query)), 200);
  });
}
