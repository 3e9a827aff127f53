/** Route definitions of deleting a rig and a town (DELETE protocol USER_API.rig, DELETE USER_API.town). */
import { createRoute } from '@hono/zod-openapi';
import { DeleteRigResponseSchema, DeleteTownResponseSchema } from '@gastown/protocol';
import { RigParams, TownParams } from './params';
import { ERROR_RESPONSES, SECURITY, jsonContent } from './schema';

const { 400: e400, 401: e401, 404: e404 } = ERROR_RESPONSES;

export const deleteRigRoute = createRoute({
  method: 'delete',
  path: '/api/towns/{townId}/rigs/{rigId}',
  tags: ['towns'],
  summary:
    'Delete a rig: its agents are stopped (credentials revoked), every bead of it not closed is closed as cancelled (metadata {cancelled: true, reason}), the container removes its workspaces, the rig answers 404 afterwards. Closed beads and stopped agents stay as history',
  security: [...SECURITY.user],
  request: { params: RigParams },
  responses: {
    200: jsonContent(DeleteRigResponseSchema, 'the rig is gone; what was cancelled and stopped, and what became of its workspaces'),
    400: e400,
    401: e401,
    404: { ...e404, description: "not_found: the town or the rig (another user's rig answers 404 too)" },
  },
});

export const deleteTownRoute = createRoute({
  method: 'delete',
  path: '/api/towns/{townId}',
  tags: ['towns'],
  summary:
    "Delete a town: its container is killed (no drain) and its data removed, every agent credential revoked, every row and stored session deleted. Its ids answer 404 afterwards and its agents' tokens 401",
  security: [...SECURITY.user],
  request: { params: TownParams },
  responses: {
    200: jsonContent(DeleteTownResponseSchema, 'the town is gone'),
    400: e400,
    401: e401,
    404: { ...e404, description: "not_found: no such town (another user's town answers 404 too)" },
    502: { ...e400, description: 'upstream_failed: the container runtime refused to destroy the container; nothing was deleted (retry)' },
    503: { ...e400, description: 'container_unavailable: the container runtime could not be reached; nothing was deleted (retry)' },
  },
});

export const DELETION_ROUTES = [deleteRigRoute, deleteTownRoute] as const;
