import type { OpenAPIHono } from '@hono/zod-openapi';
import { keyPageRequest, nextKeyCursor } from '../http/list-cursor';
import type { AppDeps, AppEnv } from '../http/types';
import { listAgentsRoute, reissueCredentialsRoute, stopAgentRoute } from '../openapi/user-routes';
import { unwrap } from '../town/rpc-result';

/** Agents: list with credential health (paginated: `limit`, `cursor` → `nextCursor`), stop, reissue credentials. */
export function registerAgentAdminRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(listAgentsRoute, async function listAgents(c) {
    const { townId } = c.req.valid('param');
    const page = unwrap(await directory.town(townId).listAgents(c.get('userId'), keyPageRequest('agents', c.req.valid('query'))));
    return c.json({ agents: page.items, nextCursor: nextKeyCursor('agents', page.next) }, 200);
  });

  app.openapi(stopAgentRoute, async function stopAgent(c) {
    const { townId, agentId } = c.req.valid('param');
    return c.json({ agent: unwrap(await directory.town(townId).stopAgent(c.get('userId'), agentId)) }, 200);
  });

  app.openapi(reissueCredentialsRoute, async function reissueCredentials(c) {
    const { townId, agentId } = c.req.valid('param');
    return c.json(unwrap(await directory.town(townId).reissueCredentials(c.get('userId'), agentId)), 200);
  });
}
