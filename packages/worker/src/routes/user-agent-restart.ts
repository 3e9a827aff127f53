import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/types';
import { restartAgentRoute } from '../openapi/agent-restart-routes';
import { unwrap } from '../town/rpc-result';

/** `POST …/agents/:agentId/restart`: a new run of the agent (gen + 1); another user's agent answers 404. */
export function registerAgentRestartRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(restartAgentRoute, async function restartAgent(c) {
    const { townId, agentId } = c.req.valid('param');
    return c.json(unwrap(await directory.town(townId).restartAgent(c.get('userId'), agentId)), 200);
  });
}
