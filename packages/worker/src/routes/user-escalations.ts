import type { OpenAPIHono } from '@hono/zod-openapi';
import { keyPageRequest, nextKeyCursor } from '../http/list-cursor';
import type { AppDeps, AppEnv } from '../http/types';
import { acknowledgeEscalationRoute, listEscalationsRoute, resolveEscalationRoute } from '../openapi/escalation-routes';
import { unwrap } from '../town/rpc-result';

/** Escalations: list (filters, pagination), acknowledge, resolve. Another user's answers 404 like a missing one. */
export function registerEscalationRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(listEscalationsRoute, async function listEscalations(c) {
    const { townId } = c.req.valid('param');
    const { state, severity, rigId, ...page } = c.req.valid('query');
    const result = unwrap(await directory.town(townId).listEscalations(c.get('userId'), { state, severity, rigId }, keyPageRequest('beads', page)));
    return c.json({ escalations: result.items, nextCursor: nextKeyCursor('beads', result.next) }, 200);
  });

  app.openapi(acknowledgeEscalationRoute, async function acknowledgeEscalation(c) {
    const { townId, beadId } = c.req.valid('param');
    const { note } = c.req.valid('json');
    return c.json({ escalation: unwrap(await directory.town(townId).acknowledgeEscalation(c.get('userId'), beadId, note)) }, 200);
  });

  app.openapi(resolveEscalationRoute, async function resolveEscalation(c) {
    const { townId, beadId } = c.req.valid('param');
    const { resolution } = c.req.valid('json');
    return c.json({ escalation: unwrap(await directory.town(townId).resolveEscalation(c.get('userId'), beadId, resolution)) }, 200);
  });
}
