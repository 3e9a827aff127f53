import type { OpenAPIHono } from '@hono/zod-openapi';
import { keyPageRequest, nextKeyCursor } from '../http/list-cursor';
import type { AppDeps, AppEnv } from '../http/types';
import { createConvoyRoute, deleteConvoyRoute, getConvoyRoute, listConvoysRoute, updateConvoyRoute } from '../openapi/convoy-routes';
import { unwrap } from '../town/rpc-result';

/**
 * Convoys a user manages: list (status filter, pagination), create, read (with its beads), edit,
 * delete. A town another user owns answers 404 like a missing one, and so do its convoys.
 */
export function registerConvoyRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(listConvoysRoute, async function listConvoys(c) {
    const { townId } = c.req.valid('param');
    const { status, ...page } = c.req.valid('query');
    const result = unwrap(await directory.town(townId).listConvoys(c.get('userId'), status ?? null, keyPageRequest('convoys', page)));
    return c.json({ convoys: result.items, nextCursor: nextKeyCursor('convoys', result.next) }, 200);
  });

  app.openapi(createConvoyRoute, async function createConvoy(c) {
    const { townId } = c.req.valid('param');
    return c.json({ convoy: unwrap(await directory.town(townId).createConvoy(c.get('userId'), c.req.valid('json'))) }, 201);
  });

  app.openapi(getConvoyRoute, async function getConvoy(c) {
    const { townId, convoyId } = c.req.valid('param');
    return c.json(unwrap(await directory.town(townId).getConvoy(c.get('userId'), convoyId)), 200);
  });

  app.openapi(updateConvoyRoute, async function updateConvoy(c) {
    const { townId, convoyId } = c.req.valid('param');
    return c.json({ convoy: unwrap(await directory.town(townId).updateConvoy(c.get('userId'), convoyId, c.req.valid('json'))) }, 200);
  });

  app.openapi(deleteConvoyRoute, async function deleteConvoy(c) {
    const { townId, convoyId } = c.req.valid('param');
    return c.json(unwrap(await directory.town(townId).deleteConvoy(c.get('userId'), convoyId)), 200);
  });
}
