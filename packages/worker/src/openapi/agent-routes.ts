/** Route definitions of the agent API (protocol AGENT_API): lifecycle callbacks, refresh and one route per tool. */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import {
  AgentCredentialsSchema,
  CompletionRequestSchema,
  CompletionResponseSchema,
  EventBatchRequestSchema,
  EventBatchResponseSchema,
  GitTokenRequestSchema,
  GitTokenResponseSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  MergeResultRequestSchema,
  MergeResultResponseSchema,
  RefreshRequestSchema,
  TOOLS,
  TOOL_NAMES,
  type ToolName,
} from '@gastown/protocol';
import { TOOL_RATE_LIMITS } from '../town/tool-rate-limit';
import { AgentParams, TownParams } from './params';
import { ERROR_RESPONSES, SECURITY, jsonBody, jsonContent } from './schema';

const { 400: e400, 401: e401, 403: e403, 404: e404, 409: e409, 413: e413, 415: e415, 429: e429 } = ERROR_RESPONSES;
const agentErrors = { 400: e400, 401: e401, 403: e403, 404: e404, 409: e409, 413: e413, 415: e415 } as const;

export const refreshRoute = createRoute({
  method: 'post',
  path: '/agent/towns/{townId}/refresh',
  tags: ['agent'],
  summary: 'Rotate a refresh credential (Authorization: Bearer <refresh credential>) for a new access token and refresh credential',
  security: [...SECURITY.refresh],
  request: { params: TownParams, body: jsonBody(RefreshRequestSchema) },
  responses: {
    200: jsonContent(AgentCredentialsSchema, 'fresh credentials (the same pair again when replayed within the grace window)'),
    400: e400,
    401: { ...e401, description: 'refresh_invalid, refresh_reused, token_revoked, token_missing' },
    413: e413,
    415: e415,
  },
});

export const heartbeatRoute = createRoute({
  method: 'post',
  path: '/agent/towns/{townId}/agents/{agentId}/heartbeat',
  tags: ['agent'],
  summary: 'Liveness, activity and the broker credential status',
  security: [...SECURITY.agent],
  request: { params: AgentParams, body: jsonBody(HeartbeatRequestSchema) },
  responses: { 200: jsonContent(HeartbeatResponseSchema, 'acknowledged'), ...agentErrors },
});

export const eventsRoute = createRoute({
  method: 'post',
  path: '/agent/towns/{townId}/agents/{agentId}/events',
  tags: ['agent'],
  summary: 'A batch of agent events, deduplicated by client event id',
  security: [...SECURITY.agent],
  request: { params: AgentParams, body: jsonBody(EventBatchRequestSchema) },
  responses: { 200: jsonContent(EventBatchResponseSchema, 'accepted and duplicate counts'), ...agentErrors },
});

export const completionRoute = createRoute({
  method: 'post',
  path: '/agent/towns/{townId}/agents/{agentId}/completion',
  tags: ['agent'],
  summary: "The agent's process ended",
  security: [...SECURITY.agent],
  request: { params: AgentParams, body: jsonBody(CompletionRequestSchema) },
  responses: { 200: jsonContent(CompletionResponseSchema, 'the hooked bead status afterwards'), ...agentErrors },
});

export const mergeResultRoute = createRoute({
  method: 'post',
  path: '/agent/towns/{townId}/agents/{agentId}/merge-result',
  tags: ['agent'],
  summary: 'How a merge went (refinery credentials)',
  security: [...SECURITY.agent],
  request: { params: AgentParams, body: jsonBody(MergeResultRequestSchema) },
  responses: { 200: jsonContent(MergeResultResponseSchema, 'merge request and source bead afterwards'), ...agentErrors },
});

export const gitTokenRoute = createRoute({
  method: 'post',
  path: '/agent/towns/{townId}/agents/{agentId}/git-token',
  tags: ['agent'],
  summary: "A fresh git token for the agent's rig, for the container's git credential broker (polecat or refinery of that rig)",
  security: [...SECURITY.agent],
  request: { params: AgentParams, body: jsonBody(GitTokenRequestSchema) },
  responses: {
    200: jsonContent(GitTokenResponseSchema, 'the grant (an installation token narrowed to the repository, or the rig token)'),
    ...agentErrors,
    403: { ...e403, description: 'role_forbidden (not a polecat or refinery), token_scope (another rig)' },
    409: { ...e409, description: 'conflict: the rig has no credentials (auth none)' },
    422: { ...e400, description: 'git_auth_failed: the git host refused the rig credentials' },
    502: { ...e400, description: 'upstream_failed: the git host could not be reached' },
  },
});

function toolRoute<T extends ToolName>(tool: T) {
  const spec = TOOLS[tool];
  return createRoute({
    method: 'post',
    path: `/agent/towns/{townId}/agents/{agentId}/tools/${tool}`,
    tags: ['tools'],
    summary: `Tool ${tool} (roles: ${spec.roles.join(', ')})`,
    security: [...SECURITY.agent],
    request: { params: AgentParams, body: jsonBody(spec.args as (typeof TOOLS)[T]['args']) },
    responses: {
      200: jsonContent(spec.result as (typeof TOOLS)[T]['result'], `result of ${tool}`),
      ...agentErrors,
      ...(TOOL_RATE_LIMITS[tool] ? { 429: { ...e429, description: 'rate_limited: this agent called the tool too often (see docs/CONFIGURATION.md)' } } : {}),
    },
  });
}

/** One route per entry of TOOLS. */
export const TOOL_ROUTES = Object.fromEntries(TOOL_NAMES.map((tool) => [tool, toolRoute(tool)])) as { [T in ToolName]: ReturnType<typeof toolRoute<T>> };

export const AGENT_ROUTES: readonly RouteConfig[] = [
  refreshRoute,
  heartbeatRoute,
  eventsRoute,
  completionRoute,
  mergeResultRoute,
  gitTokenRoute,
  ...Object.values(TOOL_ROUTES),
];
