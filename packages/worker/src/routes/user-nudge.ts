import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/types';
import { nudgeAgentRoute } from '../openapi/nudge-routes';
import { unwrap } from '../town/rpc-result';

/** `POST /api/towns/:townId/agents/:agentId/nudge`: the owner nudges a running agent (200 `{ agent, delivered }`). */
export function registerNudgeRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(nudgeAgentRoute, async function nudgeAgent(c) {
    const { townId, agentId } = c.req.valid('param');
    const { text } = c.req.valid('json');
    return c.json({ agent: unwrap(await directory.town(townId).nudgeAgent(c.get('userId'), agentId, text)), delivered: true as const }, 200);
  });
}
