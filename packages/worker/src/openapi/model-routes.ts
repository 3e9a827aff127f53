/** Route definitions of a town's model catalog (protocol USER_API.models). */
import { createRoute } from '@hono/zod-openapi';
import { ModelListResponseSchema } from '@gastown/protocol';
import { TownParams } from './params';
import { ERROR_RESPONSES, SECURITY, jsonContent } from './schema';

const { 400: e400, 401: e401, 404: e404 } = ERROR_RESPONSES;

export const listModelsRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/models',
  tags: ['towns'],
  summary:
    "The models the town's provider lists ({baseUrl}/models with the key of its env var, 5 s timeout); no provider or any failure answers {source: 'none', models: []}",
  security: [...SECURITY.user],
  request: { params: TownParams },
  responses: { 200: jsonContent(ModelListResponseSchema, "the provider's models, or source none"), 400: e400, 401: e401, 404: e404 },
});

export const MODEL_ROUTES = [listModelsRoute] as const;
