/** Route definitions of the user API's convoys (protocol USER_API.convoys, .convoy). */
import { createRoute, z } from '@hono/zod-openapi';
import {
  ConvoyDetailResponseSchema,
  ConvoyIdSchema,
  ConvoyListQuerySchema,
  ConvoyListResponseSchema,
  ConvoyResponseSchema,
  CreateConvoyRequestSchema,
  DeleteConvoyResponseSchema,
  TownIdSchema,
  UpdateConvoyRequestSchema,
} from '@gastown/protocol';
import { TownParams } from './params';
import { ERROR_RESPONSES, SECURITY, api, apiObject, jsonBody, jsonContent } from './schema';

const { 400: e400, 401: e401, 404: e404, 409: e409, 413: e413, 415: e415 } = ERROR_RESPONSES;
const readErrors = {
  400: e400,
  401: e401,
  404: { ...e404, description: "not_found: the town or the convoy (another user's convoy answers 404 too)" },
} as const;
const writeErrors = {
  400: { ...e400, description: 'bad_json or validation_failed (also: a bead that is not an issue bead of this town, or a convoy left with no bead)' },
  401: e401,
  404: readErrors[404],
  409: { ...e409, description: 'conflict: the convoy has landed or was cancelled (beads are added or removed only while it is open)' },
  413: e413,
  415: e415,
} as const;

export const ConvoyParams = z.object({ townId: api(TownIdSchema), convoyId: api(ConvoyIdSchema) });

export const listConvoysRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/convoys',
  tags: ['convoys'],
  summary: 'Convoys with their progress (closed of total beads), optionally of one status; paginated, oldest first',
  security: [...SECURITY.user],
  request: { params: TownParams, query: apiObject(ConvoyListQuerySchema) },
  responses: { 200: jsonContent(ConvoyListResponseSchema, 'convoys'), ...readErrors },
});

export const createConvoyRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/convoys',
  tags: ['convoys'],
  summary: 'Create an open convoy of issue beads of this town; it lands (town event convoy.landed, once) when every bead is closed',
  security: [...SECURITY.user],
  request: { params: TownParams, body: jsonBody(CreateConvoyRequestSchema) },
  responses: { 201: jsonContent(ConvoyResponseSchema, 'the new convoy'), ...writeErrors },
});

export const getConvoyRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/convoys/{convoyId}',
  tags: ['convoys'],
  summary: 'One convoy with its beads, in the convoy order',
  security: [...SECURITY.user],
  request: { params: ConvoyParams },
  responses: { 200: jsonContent(ConvoyDetailResponseSchema, 'the convoy and its beads'), ...readErrors },
});

export const updateConvoyRoute = createRoute({
  method: 'patch',
  path: '/api/towns/{townId}/convoys/{convoyId}',
  tags: ['convoys'],
  summary: 'Rename, change the goal, add or remove beads (open convoys only), or cancel an open convoy (status: cancelled; its beads are not touched)',
  security: [...SECURITY.user],
  request: { params: ConvoyParams, body: jsonBody(UpdateConvoyRequestSchema) },
  responses: { 200: jsonContent(ConvoyResponseSchema, 'the updated convoy'), ...writeErrors },
});

export const deleteConvoyRoute = createRoute({
  method: 'delete',
  path: '/api/towns/{townId}/convoys/{convoyId}',
  tags: ['convoys'],
  summary: 'Delete a convoy; its beads stay as they are',
  security: [...SECURITY.user],
  request: { params: ConvoyParams },
  responses: { 200: jsonContent(DeleteConvoyResponseSchema, 'the convoy is gone'), ...readErrors },
});

export const CONVOY_ROUTES = [listConvoysRoute, createConvoyRoute, getConvoyRoute, updateConvoyRoute, deleteConvoyRoute] as const;
