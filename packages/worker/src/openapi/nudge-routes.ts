/** Route definition of a nudge (protocol USER_API.nudgeAgent, nudge-api.ts). */
import { createRoute } from '@hono/zod-openapi';
import { NudgeAgentRequestSchema, NudgeAgentResponseSchema } from '@gastown/protocol';
import { AgentParams } from './params';
import { ERROR_RESPONSES, SECURITY, jsonBody, jsonContent } from './schema';

const { 400: e400, 401: e401, 404: e404, 409: e409, 413: e413, 415: e415 } = ERROR_RESPONSES;

export const nudgeAgentRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/agents/{agentId}/nudge',
  tags: ['agents'],
  summary:
    'Nudge a running agent: a short message (≤ 2,000 characters) put into its session without starting a turn; it sees the text at its next model call. Never wakes a sleeping container.',
  security: [...SECURITY.user],
  request: { params: AgentParams, body: jsonBody(NudgeAgentRequestSchema) },
  responses: {
    200: jsonContent(NudgeAgentResponseSchema, 'the container took the nudge'),
    400: e400,
    401: e401,
    404: e404,
    409: { ...e409, description: 'conflict: the agent is not running (no live run in the container)' },
    413: e413,
    415: e415,
    502: { ...e400, description: 'upstream_failed: the container answered badly' },
    503: { ...e400, description: 'container_unavailable: the container could not be reached' },
  },
});

export const NUDGE_ROUTES = [nudgeAgentRoute] as const;
