/** Route definitions of a town's model usage and cost (protocol USER_API.usage). */
import { createRoute } from '@hono/zod-openapi';
import { UsageQuerySchema, UsageResponseSchema } from '@gastown/protocol';
import { TownParams } from './params';
import { ERROR_RESPONSES, SECURITY, apiObject, jsonContent } from './schema';

const { 400: e400, 401: e401, 404: e404 } = ERROR_RESPONSES;

export const usageRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/usage',
  tags: ['towns'],
  summary:
    'Model usage and cost: totals and rows grouped by bead, role, model, UTC day, rig or agent over [from, to) (ms epoch), and the spend cap standing when a cap is set',
  security: [...SECURITY.user],
  request: { params: TownParams, query: apiObject(UsageQuerySchema) },
  responses: { 200: jsonContent(UsageResponseSchema, 'sums of the model calls in the range'), 400: e400, 401: e401, 404: e404 },
});

export const USAGE_ROUTES = [usageRoute] as const;
