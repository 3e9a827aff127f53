import type { OpenAPIHono } from '@hono/zod-openapi';
import { GastownError, PAGE_LIMITS } from '@gastown/protocol';
import { decodeEventCursor, encodeEventCursor, keyPageRequest, nextKeyCursor } from '../http/list-cursor';
import type { AppDeps, AppEnv } from '../http/types';
import { listEventsRoute, listMailRoute, listMayorMessagesRoute, postMayorMessageRoute } from '../openapi/user-routes';
import { unwrap } from '../town/rpc-result';

export const DEFAULT_EVENT_PAGE = PAGE_LIMITS.defaultLimit;

/** Mail, events and the mayor conversation (beads: user-beads.ts). The lists are paginated (`limit`, `cursor` → `nextCursor`). */
export function registerActivityRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(listMailRoute, async function listMail(c) {
    const { townId } = c.req.valid('param');
    const page = unwrap(await directory.town(townId).listMail(c.get('userId'), keyPageRequest('mail', c.req.valid('query'))));
    return c.json({ mail: page.items, nextCursor: nextKeyCursor('mail', page.next) }, 200);
  });

  app.openapi(listEventsRoute, async function listEvents(c) {
    const { townId } = c.req.valid('param');
    const { after, limit = DEFAULT_EVENT_PAGE, cursor } = c.req.valid('query');
    if (after !== undefined && cursor !== undefined) throw new GastownError('validation_failed', 'query: give after or cursor, not both');
    const start = cursor === undefined ? (after ?? 0) : decodeEventCursor(cursor);
    // one more than asked: whether a next page exists right now
    const events = unwrap(await directory.town(townId).listEvents(c.get('userId'), start, limit + 1));
    const page = events.slice(0, limit);
    const last = page.at(-1);
    return c.json({ events: page, nextCursor: events.length > limit && last ? encodeEventCursor(last.id) : null }, 200);
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
