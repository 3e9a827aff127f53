import type { OpenAPIHono } from '@hono/zod-openapi';
import { keyPageRequest, nextKeyCursor } from '../http/list-cursor';
import type { AppDeps, AppEnv } from '../http/types';
import { closeBeadRoute, createBeadRoute, deleteBeadRoute, getBeadRoute, reopenBeadRoute, updateBeadRoute } from '../openapi/bead-routes';
import { listBeadsRoute } from '../openapi/user-routes';
import { unwrap } from '../town/rpc-result';

/**
 * Beads a user manages: list (filters and pagination), create, read, edit, close, reopen, delete.
 * A town another user owns answers 404 like a missing one, and so do its beads.
 */
export function registerBeadRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory } = deps;

  app.openapi(listBeadsRoute, async function listBeads(c) {
    const { townId } = c.req.valid('param');
    const { status, rigId, label, assigneeId, ...page } = c.req.valid('query');
    const filter = { status, rigId, label, assigneeId };
    const result = unwrap(await directory.town(townId).listBeads(c.get('userId'), filter, keyPageRequest('beads', page)));
    return c.json({ beads: result.items, nextCursor: nextKeyCursor('beads', result.next) }, 200);
  });

  app.openapi(createBeadRoute, async function createBead(c) {
    const { townId } = c.req.valid('param');
    return c.json({ bead: unwrap(await directory.town(townId).createBead(c.get('userId'), c.req.valid('json'))) }, 201);
  });

  app.openapi(getBeadRoute, async function getBead(c) {
    const { townId, beadId } = c.req.valid('param');
    return c.json({ bead: unwrap(await directory.town(townId).getBead(c.get('userId'), beadId)) }, 200);
  });

  app.openapi(updateBeadRoute, async function updateBead(c) {
    const { townId, beadId } = c.req.valid('param');
    return c.json({ bead: unwrap(await directory.town(townId).updateBead(c.get('userId'), beadId, c.req.valid('json'))) }, 200);
  });

  app.openapi(deleteBeadRoute, async function deleteBead(c) {
    const { townId, beadId } = c.req.valid('param');
    return c.json(unwrap(await directory.town(townId).deleteBead(c.get('userId'), beadId)), 200);
  });

  app.openapi(closeBeadRoute, async function closeBead(c) {
    const { townId, beadId } = c.req.valid('param');
    const { reason } = c.req.valid('json');
    return c.json({ bead: unwrap(await directory.town(townId).closeBead(c.get('userId'), beadId, reason)) }, 200);
  });

  app.openapi(reopenBeadRoute, async function reopenBead(c) {
    const { townId, beadId } = c.req.valid('param');
    return c.json({ bead: unwrap(await directory.town(townId).reopenBead(c.get('userId'), beadId)) }, 200);
  });
}
