/** Route definitions of the user API (protocol USER_API) and the admin endpoint. */
import { createRoute, z } from '@hono/zod-openapi';
import {
  AgentResponseSchema,
  AgentListQuerySchema,
  AgentListResponseSchema,
  BeadListQuerySchema,
  BeadListResponseSchema,
  CreateRigRequestSchema,
  CreateTownRequestSchema,
  CreateUserTokenRequestSchema,
  CreateUserTokenResponseSchema,
  EventListQuerySchema,
  EventListResponseSchema,
  MailListQuerySchema,
  MailListResponseSchema,
  MayorMessageRequestSchema,
  MayorMessageResponseSchema,
  MayorMessageSchema,
  ReissueResponseSchema,
  RigListResponseSchema,
  RigResponseSchema,
  TownListResponseSchema,
  TownResponseSchema,
  UpdateRigRequestSchema,
  UpdateTownConfigRequestSchema,
} from '@gastown/protocol';
import { AgentParams, RigParams, TownParams } from './params';
import { ERROR_RESPONSES, SECURITY, api, apiObject, jsonBody, jsonContent } from './schema';

const { 400: e400, 401: e401, 403: e403, 404: e404, 409: e409, 413: e413, 415: e415, 422: e422, 429: e429 } = ERROR_RESPONSES;
const readErrors = { 400: e400, 401: e401, 404: e404 } as const;
const writeErrors = { 400: e400, 401: e401, 404: e404, 409: e409, 413: e413, 415: e415 } as const;
/** A rig with credentials is checked against its git host before anything is stored. */
const rigAccessErrors = {
  422: { ...e422, description: 'git_auth_failed: the git host refused the credentials (the message names the cause: key, installation, access, permission)' },
  502: { ...e400, description: 'upstream_failed: the git host could not be reached or answered 5xx' },
} as const;
/** A rig's own polecat/refinery model must be one the town allows. */
const rigModelErrors = {
  403: { ...e403, description: 'model_not_allowed: a rig model the town does not allow (the message lists the allowed models)' },
} as const;

export const MayorMessageListQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(500).optional() }).strict();
export const MayorMessageListResponseSchema = z.object({ messages: z.array(api(MayorMessageSchema)) });

export const createUserTokenRoute = createRoute({
  method: 'post',
  path: '/api/admin/user-tokens',
  tags: ['admin'],
  summary: 'Mint a user token (Authorization: Bearer <GASTOWN_ADMIN_SECRET>)',
  security: [...SECURITY.admin],
  request: { body: jsonBody(CreateUserTokenRequestSchema) },
  responses: { 201: jsonContent(CreateUserTokenResponseSchema, 'a user token'), 400: e400, 401: e401, 413: e413, 415: e415 },
});

export const listTownsRoute = createRoute({
  method: 'get',
  path: '/api/towns',
  tags: ['towns'],
  summary: "The caller's towns",
  security: [...SECURITY.user],
  responses: { 200: jsonContent(TownListResponseSchema, 'towns'), 401: e401 },
});

export const createTownRoute = createRoute({
  method: 'post',
  path: '/api/towns',
  tags: ['towns'],
  summary: 'Create a town (with its mayor)',
  security: [...SECURITY.user],
  request: { body: jsonBody(CreateTownRequestSchema) },
  responses: { 201: jsonContent(TownResponseSchema, 'the new town'), ...writeErrors },
});

export const getTownRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}',
  tags: ['towns'],
  summary: 'One town',
  security: [...SECURITY.user],
  request: { params: TownParams },
  responses: { 200: jsonContent(TownResponseSchema, 'the town'), ...readErrors },
});

export const updateTownConfigRoute = createRoute({
  method: 'patch',
  path: '/api/towns/{townId}/config',
  tags: ['towns'],
  summary:
    'Update town config (env var values are write-only: only names come back). The provider is stored without its model: ' +
    'a legacy provider.model becomes models.default; models and prices merge (null clears); a provider needs models.default (400 otherwise)',
  security: [...SECURITY.user],
  request: { params: TownParams, body: jsonBody(UpdateTownConfigRequestSchema) },
  responses: { 200: jsonContent(TownResponseSchema, 'the updated town'), ...writeErrors },
});

export const listRigsRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/rigs',
  tags: ['rigs'],
  summary: 'Rigs of a town',
  security: [...SECURITY.user],
  request: { params: TownParams },
  responses: { 200: jsonContent(RigListResponseSchema, 'rigs'), ...readErrors },
});

export const addRigRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/rigs',
  tags: ['rigs'],
  summary: 'Add a rig (a git repository)',
  security: [...SECURITY.user],
  request: { params: TownParams, body: jsonBody(CreateRigRequestSchema) },
  responses: { 201: jsonContent(RigResponseSchema, 'the new rig'), ...writeErrors, ...rigModelErrors, ...rigAccessErrors },
});

export const updateRigRoute = createRoute({
  method: 'patch',
  path: '/api/towns/{townId}/rigs/{rigId}',
  tags: ['rigs'],
  summary:
    "Change a rig's auth, merge strategy, provider or models (secrets are write-only; a new credential is checked against the git host first; " +
    'a model must be one the town allows)',
  security: [...SECURITY.user],
  request: { params: RigParams, body: jsonBody(UpdateRigRequestSchema) },
  responses: { 200: jsonContent(RigResponseSchema, 'the updated rig'), ...writeErrors, ...rigModelErrors, ...rigAccessErrors },
});

export const listAgentsRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/agents',
  tags: ['agents'],
  summary: 'Agents with their credential health (paginated)',
  security: [...SECURITY.user],
  request: { params: TownParams, query: apiObject(AgentListQuerySchema) },
  responses: { 200: jsonContent(AgentListResponseSchema, 'agents'), ...readErrors },
});

export const stopAgentRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/agents/{agentId}/stop',
  tags: ['agents'],
  summary: 'Stop an agent: gen + 1, credentials revoked',
  security: [...SECURITY.user],
  request: { params: AgentParams },
  responses: { 200: jsonContent(AgentResponseSchema, 'the stopped agent'), ...writeErrors },
});

export const reissueCredentialsRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/agents/{agentId}/credentials/reissue',
  tags: ['agents'],
  summary: 'Mint new credentials and push them to the container; reports what really happened',
  security: [...SECURITY.user],
  request: { params: AgentParams },
  responses: {
    200: jsonContent(ReissueResponseSchema, 'delivered, or minted_not_running'),
    ...writeErrors,
    502: { ...e400, description: 'upstream_failed: the container rejected the credentials' },
    503: { ...e400, description: 'container_unavailable' },
  },
});

export const listBeadsRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/beads',
  tags: ['beads'],
  summary: 'Beads, filtered by status, rigId, label and assigneeId (each given must match; paginated)',
  security: [...SECURITY.user],
  request: { params: TownParams, query: apiObject(BeadListQuerySchema) },
  responses: { 200: jsonContent(BeadListResponseSchema, 'beads'), ...readErrors },
});

export const listMailRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/mail',
  tags: ['mail'],
  summary: 'Mail of a town (paginated)',
  security: [...SECURITY.user],
  request: { params: TownParams, query: apiObject(MailListQuerySchema) },
  responses: { 200: jsonContent(MailListResponseSchema, 'mail'), ...readErrors },
});

export const postMayorMessageRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/mayor/messages',
  tags: ['mayor'],
  summary: 'Send a message to the mayor (stored, then delivered if the mayor runs)',
  security: [...SECURITY.user],
  request: { params: TownParams, body: jsonBody(MayorMessageRequestSchema) },
  responses: { 201: jsonContent(MayorMessageResponseSchema, 'the stored message and its delivery'), ...writeErrors },
});

export const listMayorMessagesRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/mayor/messages',
  tags: ['mayor'],
  summary: 'The latest messages sent to the mayor',
  security: [...SECURITY.user],
  request: { params: TownParams, query: MayorMessageListQuerySchema },
  responses: { 200: { description: 'messages', content: { 'application/json': { schema: MayorMessageListResponseSchema } } }, ...readErrors },
});

export const listEventsRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/events',
  tags: ['events'],
  summary: 'Town events after an id or a cursor (paginated)',
  security: [...SECURITY.user],
  request: { params: TownParams, query: apiObject(EventListQuerySchema) },
  responses: { 200: jsonContent(EventListResponseSchema, 'events'), ...readErrors },
});

export const eventStreamRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/events/stream',
  tags: ['events'],
  summary: 'Town events as server-sent events (polls; reconnect with Last-Event-ID; a few streams per user at once)',
  security: [...SECURITY.user],
  request: { params: TownParams, query: apiObject(EventListQuerySchema.pick({ after: true })) },
  responses: { 200: { description: 'text/event-stream of TownEvent', content: { 'text/event-stream': { schema: z.string() } } }, ...readErrors, 429: e429 },
});

export const USER_ROUTES = [
  createUserTokenRoute,
  listTownsRoute,
  createTownRoute,
  getTownRoute,
  updateTownConfigRoute,
  listRigsRoute,
  addRigRoute,
  updateRigRoute,
  listAgentsRoute,
  stopAgentRoute,
  reissueCredentialsRoute,
  listBeadsRoute,
  listMailRoute,
  postMayorMessageRoute,
  listMayorMessagesRoute,
  listEventsRoute,
  eventStreamRoute,
] as const;
