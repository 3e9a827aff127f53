import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/types';
import { listBeadsRoute, listEventsRoute, listMailRoute, listMayorMessagesRoute, postMayorMessageRoute } from '../openapi/user-routes';
import { unwrap } from '../town/rpc-result';

export const DEFAULT_EVENT_PAGE = 100;

/** Beads, mail, events and the mayor conversation. */
export function registerActivityRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(listBeadsRoute, async function listBeads(c) {
    const { townId } = c.req.valid('param');
    const { status } = c.req.valid('query');
    return c.json({ beads: unwrap(await directory.town(townId).listBeads(c.get('userId'), status ?? null)) }, 200);
  });

  app.openapi(listMailRoute, async function listMail(c) {
    const { townId } = c.req.valid('param');
    return c.json({ mail: unwrap(await directory.town(townId).listMail(c.get('userId'))) }, 200);
  });

  app.openapi(listEventsRoute, async function listEvents(c) {
    const { townId } = c.req.valid('param');
    const { after, limit } = c.req.valid('query');
    const events = unwrap(await directory.town(townId).listEvents(c.get('userId'), after ?? 0, limit ?? DEFAULT_EVENT_PAGE));
    return c.json({ events }, 200);
  });

  app.openapi(postMayorMessageRoute, async function postMayorMessage(c) {
    const { townId } = c.req.valid('param');
    const { text } = c.req.valid('json');
    return c.json(unwrap(await directory.town(townId).postMayorMessage(c.get('userId'), text, new URL(c.req.url).origin)), 201);
  });

  app.openapi(listMayorMessagesRoute, async function listMayorMessages(c) {
    const { townId } = c.req.valid('param');
    const { limit } = c.req.valid('query');
    return c.json({ messages: unwrap(await directory.town(townId).listMayorMessages(c.get('userId'), limit ?? 100)) }, 200);
  });
}
