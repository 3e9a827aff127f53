/** Route definitions of the user API's bead management (protocol USER_API.beads, .bead, .closeBead, .reopenBead). */
import { createRoute, z } from '@hono/zod-openapi';
import {
  BeadIdSchema,
  BeadResponseSchema,
  CloseBeadRequestSchema,
  CreateBeadRequestSchema,
  DeleteBeadResponseSchema,
  ReopenBeadRequestSchema,
  TownIdSchema,
  UpdateBeadRequestSchema,
} from '@gastown/protocol';
import { TownParams } from './params';
import { ERROR_RESPONSES, SECURITY, api, jsonBody, jsonContent } from './schema';

const { 400: e400, 401: e401, 404: e404, 409: e409, 413: e413, 415: e415 } = ERROR_RESPONSES;
const readErrors = { 400: e400, 401: e401, 404: e404 } as const;
const writeErrors = {
  400: { ...e400, description: 'bad_json or validation_failed (also: a dependsOn bead not in this town, not an issue, or closing a dependency cycle)' },
  401: e401,
  404: { ...e404, description: "not_found: the town, the bead or the rig (another user's bead answers 404 too)" },
  409: { ...e409, description: 'conflict: not an issue bead, or not in a state that allows it (the message says why)' },
  413: e413,
  415: e415,
} as const;

export const BeadParams = z.object({ townId: api(TownIdSchema), beadId: api(BeadIdSchema) });

export const createBeadRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/beads',
  tags: ['beads'],
  summary: 'Create an open issue bead on a rig (priority, labels, dependsOn); it is dispatched once every dependency is closed',
  security: [...SECURITY.user],
  request: { params: TownParams, body: jsonBody(CreateBeadRequestSchema) },
  responses: { 201: jsonContent(BeadResponseSchema, 'the new bead'), ...writeErrors },
});

export const getBeadRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/beads/{beadId}',
  tags: ['beads'],
  summary: 'One bead',
  security: [...SECURITY.user],
  request: { params: BeadParams },
  responses: { 200: jsonContent(BeadResponseSchema, 'the bead'), ...readErrors },
});

export const updateBeadRoute = createRoute({
  method: 'patch',
  path: '/api/towns/{townId}/beads/{beadId}',
  tags: ['beads'],
  summary:
    'Edit an issue bead: title, body, priority, labels and dependsOn (the lists are replaced); rigId moves an open, unassigned bead. ' +
    'A dependency cycle is refused (400 validation_failed)',
  security: [...SECURITY.user],
  request: { params: BeadParams, body: jsonBody(UpdateBeadRequestSchema) },
  responses: { 200: jsonContent(BeadResponseSchema, 'the updated bead'), ...writeErrors },
});

export const deleteBeadRoute = createRoute({
  method: 'delete',
  path: '/api/towns/{townId}/beads/{beadId}',
  tags: ['beads'],
  summary: 'Delete an issue bead that no agent holds (not in progress or in review) and no other bead depends on (409 otherwise)',
  security: [...SECURITY.user],
  request: { params: BeadParams },
  responses: { 200: jsonContent(DeleteBeadResponseSchema, 'the bead is gone'), ...writeErrors },
});

export const closeBeadRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/beads/{beadId}/close',
  tags: ['beads'],
  summary: 'Close an issue bead (open, failed, or in progress: its polecat is stopped first; in review → 409). Idempotent',
  security: [...SECURITY.user],
  request: { params: BeadParams, body: jsonBody(CloseBeadRequestSchema, 'optional reason; an empty body is fine') },
  responses: { 200: jsonContent(BeadResponseSchema, 'the closed bead'), ...writeErrors },
});

export const reopenBeadRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/beads/{beadId}/reopen',
  tags: ['beads'],
  summary: 'Reopen a closed or failed issue bead with fresh attempts (409 for any other status)',
  security: [...SECURITY.user],
  request: { params: BeadParams, body: jsonBody(ReopenBeadRequestSchema, 'no fields; an empty body is fine') },
  responses: { 200: jsonContent(BeadResponseSchema, 'the reopened bead'), ...writeErrors },
});

export const BEAD_ROUTES = [createBeadRoute, getBeadRoute, updateBeadRoute, deleteBeadRoute, closeBeadRoute, reopenBeadRoute] as const;
