/** Route definition of an agent's restart (protocol USER_API.restartAgent). */
import { createRoute } from '@hono/zod-openapi';
import { RestartAgentRequestSchema, RestartAgentResponseSchema } from '@gastown/protocol';
import { AgentParams } from './params';
import { ERROR_RESPONSES, SECURITY, jsonBody, jsonContent } from './schema';

const { 400: e400, 401: e401, 404: e404, 409: e409, 413: e413, 415: e415 } = ERROR_RESPONSES;

export const restartAgentRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/agents/{agentId}/restart',
  tags: ['agents'],
  summary:
    'Restart an agent: a new run at gen + 1 with new credentials (the old ones answer 401); a polecat keeps its bead and branch and spends no attempt. ' +
    'The mayor always; a polecat only while it holds its bead; a refinery only while it runs (409 otherwise)',
  security: [...SECURITY.user],
  request: { params: AgentParams, body: jsonBody(RestartAgentRequestSchema, 'no fields; an empty body is fine') },
  responses: {
    200: jsonContent(RestartAgentResponseSchema, 'the agent in its new run, and the generation it had'),
    400: e400,
    401: e401,
    404: { ...e404, description: "not_found: the town or the agent (another user's agent answers 404 too)" },
    409: {
      ...e409,
      description: 'conflict: the agent cannot be restarted now, it is being started, or the town has no model provider (the message says which)',
    },
    413: e413,
    415: e415,
    502: { ...e400, description: 'upstream_failed: the container refused the start' },
    503: { ...e400, description: 'container_unavailable: the container could not be reached' },
  },
});

export const AGENT_RESTART_ROUTES = [restartAgentRoute] as const;
