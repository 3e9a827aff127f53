/**
 * Route definitions of durable agent sessions (protocol session-snapshot.ts): the agent API's
 * GET / PUT of the mayor's snapshot (binary bodies: documented here, served by plain handlers in
 * routes/agent-session.ts) and the user's reset of the mayor's session.
 */
import { createRoute, z } from '@hono/zod-openapi';
import {
  MayorSessionResetResponseSchema,
  SESSION_SNAPSHOT_CONTENT_TYPE,
  SESSION_SNAPSHOT_LIMITS,
  SESSION_SNAPSHOT_META_HEADER,
  SESSION_SNAPSHOT_SHA256_HEADER,
  SessionSnapshotRecordSchema,
} from '@gastown/protocol';
import { AgentParams, TownParams } from './params';
import { ERROR_RESPONSES, SECURITY, jsonContent } from './schema';

const { 400: e400, 401: e401, 403: e403, 404: e404, 409: e409, 413: e413, 415: e415, 422: e422 } = ERROR_RESPONSES;

const SESSION_PATH = '/agent/towns/{townId}/agents/{agentId}/session';
const binary = z.string().openapi({ format: 'binary' });
const snapshotHeaders = {
  [SESSION_SNAPSHOT_SHA256_HEADER]: { description: 'SHA-256 of the body, 64 lower-case hex digits', schema: { type: 'string' as const } },
  [SESSION_SNAPSHOT_META_HEADER]: { description: 'SessionSnapshotMeta as JSON', schema: { type: 'string' as const } },
};

export const getSessionRoute = createRoute({
  method: 'get',
  path: SESSION_PATH,
  tags: ['agent'],
  summary: "The agent's stored session snapshot (mayor only): gzip-compressed JSON, checked against its recorded SHA-256",
  security: [...SECURITY.agent],
  request: { params: AgentParams },
  responses: {
    200: { description: 'the snapshot bytes', headers: snapshotHeaders, content: { [SESSION_SNAPSHOT_CONTENT_TYPE]: { schema: binary } } },
    401: e401,
    403: e403,
    404: { ...e404, description: 'not_found: no snapshot is stored' },
    422: { ...e422, description: 'snapshot_corrupt: the stored object is missing or does not match its checksum (never restored; a town event)' },
  },
});

export const putSessionRoute = createRoute({
  method: 'put',
  path: SESSION_PATH,
  tags: ['agent'],
  summary: `Store the agent's session snapshot (mayor only), replacing the one before; at most ${SESSION_SNAPSHOT_LIMITS.maxBytes} bytes`,
  security: [...SECURITY.agent],
  request: {
    params: AgentParams,
    headers: z.object({
      [SESSION_SNAPSHOT_SHA256_HEADER]: z.string().openapi({ description: 'SHA-256 of the body, 64 lower-case hex digits' }),
      [SESSION_SNAPSHOT_META_HEADER]: z.string().openapi({ description: 'SessionSnapshotMeta as JSON' }),
    }),
    body: { required: true, description: 'gzip-compressed JSON SessionSnapshot', content: { [SESSION_SNAPSHOT_CONTENT_TYPE]: { schema: binary } } },
  },
  responses: {
    200: jsonContent(SessionSnapshotRecordSchema, 'what was recorded about the stored snapshot'),
    400: e400,
    401: e401,
    403: e403,
    413: e413,
    415: { ...e415, description: `unsupported_media_type: the body must be ${SESSION_SNAPSHOT_CONTENT_TYPE}` },
    422: { ...e422, description: 'snapshot_corrupt: the body does not match its SHA-256 header (nothing is stored)' },
  },
});

export const resetMayorSessionRoute = createRoute({
  method: 'delete',
  path: '/api/towns/{townId}/mayor/session',
  tags: ['mayor'],
  summary: "Forget the mayor's conversation (a running mayor is stopped); the next message starts a new one",
  security: [...SECURITY.user],
  request: { params: TownParams },
  responses: {
    200: jsonContent(MayorSessionResetResponseSchema, 'whether a snapshot was deleted and the mayor stopped'),
    400: e400,
    401: e401,
    404: e404,
    409: e409,
  },
});

export const SESSION_ROUTES = [getSessionRoute, putSessionRoute, resetMayorSessionRoute] as const;
