import type { OpenAPIHono } from '@hono/zod-openapi';
import { bearerToken } from '../auth';
import type { AppDeps, AppEnv } from '../http/types';
import { TOOL_ROUTES, completionRoute, eventsRoute, gitTokenRoute, heartbeatRoute, mergeResultRoute, refreshRoute } from '../openapi/agent-routes';
import { unwrap } from '../town/rpc-result';
import { TOOL_NAMES } from '@gastown/protocol';

/**
 * The agent API. Every route under /agent/towns/:townId/agents/:agentId/ passes `agentAuth` (see app.ts)
 * (signature, claims, expiry, route scope) before its body is even parsed; the TownDO then
 * checks the token's generation before any handler logic runs. Identity comes only from the token.
 */
export function registerAgentRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(refreshRoute, async function refresh(c) {
    const { townId } = c.req.valid('param');
    const presented = bearerToken(c.req.header('authorization'));
    return c.json(unwrap(await directory.town(townId).refreshCredentials(presented)), 200);
  });

  app.openapi(heartbeatRoute, async function heartbeat(c) {
    const { townId } = c.req.valid('param');
    return c.json(unwrap(await directory.town(townId).heartbeat(c.get('agentClaims'), c.req.valid('json'))), 200);
  });

  app.openapi(eventsRoute, async function recordEvents(c) {
    const { townId } = c.req.valid('param');
    return c.json(unwrap(await directory.town(townId).recordAgentEvents(c.get('agentClaims'), c.req.valid('json'))), 200);
  });

  app.openapi(completionRoute, async function reportCompletion(c) {
    const { townId } = c.req.valid('param');
    const req = c.req.valid('json');
    const result = unwrap(
      await directory.town(townId).reportCompletion(c.get('agentClaims'), { outcome: req.outcome, reason: req.reason, branch: req.branch }),
    );
    return c.json(result, 200);
  });

  app.openapi(mergeResultRoute, async function reportMergeResult(c) {
    const { townId } = c.req.valid('param');
    const req = c.req.valid('json');
    const result = unwrap(
      await directory.town(townId).reportMergeResult(c.get('agentClaims'), {
        mergeRequestBeadId: req.mergeRequestBeadId,
        outcome: req.outcome,
        commitSha: req.commitSha,
        message: req.message,
      }),
    );
    return c.json(result, 200);
  });

  app.openapi(gitTokenRoute, async function gitToken(c) {
    const { townId } = c.req.valid('param');
    const { rigId } = c.req.valid('json');
    return c.json({ grant: unwrap(await directory.town(townId).gitToken(c.get('agentClaims'), rigId)) }, 200);
  });

  for (const tool of TOOL_NAMES) {
    app.openapi(TOOL_ROUTES[tool], async function callTool(c) {
      const { townId } = c.req.valid('param');
      const args: unknown = c.req.valid('json');
      const result = unwrap(await directory.town(townId).callTool(c.get('agentClaims'), tool, args));
      return c.json(result as never, 200);
    });
  }
}
