import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/types';

export const OPENAPI_PATH = '/openapi.json';

/** Serve the OpenAPI 3.1 document generated from the route definitions (the schemas that validate). */
export function registerOpenApiDocument(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'userToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'User token (aud gastown:user), minted by POST /api/admin/user-tokens',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'agentToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'Agent access token (aud gastown:agent), held by the container broker',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'refreshCredential', {
    type: 'http',
    scheme: 'bearer',
    description: 'Opaque single-use refresh credential (gtr_…)',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminSecret', {
    type: 'http',
    scheme: 'bearer',
    description: 'GASTOWN_ADMIN_SECRET',
  });
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'Gastown Cloud control plane',
      version: '0.1.0',
      description: 'User API, agent API and admin endpoint. Errors are {"error":{"code","message"}}; see docs/API.md.',
    },
  });
}
