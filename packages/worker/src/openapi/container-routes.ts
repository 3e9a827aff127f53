/** Route definition of a town's container restart (protocol USER_API.restartContainer). */
import { createRoute } from '@hono/zod-openapi';
import { ContainerRestartResponseSchema } from '@gastown/protocol';
import { TownParams } from './params';
import { ERROR_RESPONSES, SECURITY, jsonContent } from './schema';

const { 400: e400, 401: e401, 404: e404 } = ERROR_RESPONSES;

export const restartContainerRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/container/restart',
  tags: ['towns'],
  summary:
    "Restart the town's container so changed env vars (provider keys) and settings take effect: the settings are pushed, then the container is stopped gracefully (working polecats drain and are dispatched again; mayors keep their sessions). Never starts a sleeping town.",
  security: [...SECURITY.user],
  request: { params: TownParams },
  responses: {
    202: jsonContent(ContainerRestartResponseSchema, 'the container was stopped (wasRunning) or already slept; its next boot takes the current settings'),
    400: e400,
    401: e401,
    404: e404,
    502: { ...e400, description: 'upstream_failed: the container runtime refused the settings or the stop' },
    503: { ...e400, description: 'container_unavailable: the container runtime could not be reached or did not answer in time' },
  },
});

export const CONTAINER_ROUTES = [restartContainerRoute] as const;
