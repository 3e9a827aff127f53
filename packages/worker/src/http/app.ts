import { OpenAPIHono } from '@hono/zod-openapi';
import { LIMITS } from '@gastown/protocol';
import { createVerifiedTokenCache } from '../auth';
import { registerOpenApiDocument } from '../openapi/document';
import { registerAdminRoutes } from '../routes/admin';
import { registerAgentRoutes } from '../routes/agent';
import { registerAgentSessionRoutes } from '../routes/agent-session';
import { registerEventStreamRoute } from '../routes/event-stream';
import { registerHealthRoute } from '../routes/health';
import { registerMayorSessionRoutes } from '../routes/mayor-session';
import { registerActivityRoutes } from '../routes/user-activity';
import { registerContainerRoutes } from '../routes/user-container';
import { registerDeletionRoutes } from '../routes/user-deletion';
import { registerEscalationRoutes } from '../routes/user-escalations';
import { registerAgentRestartRoutes } from '../routes/user-agent-restart';
import { registerAgentAdminRoutes } from '../routes/user-agents';
import { registerBeadRoutes } from '../routes/user-beads';
import { registerConvoyRoutes } from '../routes/user-convoys';
import { registerModelRoutes } from '../routes/user-models';
import { registerNudgeRoutes } from '../routes/user-nudge';
import { registerTownRoutes } from '../routes/user-towns';
import { registerUsageRoutes } from '../routes/user-usage';
import { registerWebhookRoutes } from '../routes/webhooks';
import { adminAuth, agentAuth, userAuth } from './auth-middleware';
import { jsonBodyGuard } from './body-guard';
import { createErrorHandler, notFoundHandler, validationHook } from './errors';
import { securityHeaders } from './security-headers';
import type { AppDeps, AppEnv } from './types';

/**
 * The worker's Hono app. Order matters: the security headers first (they wrap every response,
 * errors included), then authentication middleware (an unauthenticated request never has its
 * body read), then the body guard (size, media type, JSON), then each route's zod validation,
 * then the handler.
 */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const verifiedTokens = deps.verifiedTokens ?? createVerifiedTokenCache({ clock: deps.clock });
  app.onError(createErrorHandler(deps.logger));
  app.notFound(notFoundHandler);
  app.use('*', securityHeaders());

  registerHealthRoute(app);
  registerOpenApiDocument(app);

  // Middleware runs in registration order and only for routes registered after it:
  // authentication by route family, then the body guard, then the routes (whose zod validators run last).
  app.use('/api/towns', userAuth(deps));
  app.use('/api/towns/*', userAuth(deps));
  app.use('/api/admin/*', adminAuth(deps));
  app.use('/agent/towns/:townId/agents/:agentId/*', agentAuth(deps, verifiedTokens));
  // binary bodies (session snapshots): authenticated, but past the JSON body guard — they check their own
  registerAgentSessionRoutes(app, deps);
  // git host webhooks: no bearer token (signed with the rig's webhook secret), raw body for the signature
  registerWebhookRoutes(app, deps);
  app.use('*', jsonBodyGuard(LIMITS.maxBodyBytes));

  registerAdminRoutes(app, deps);
  registerAgentRoutes(app, deps);
  registerTownRoutes(app, deps);
  registerModelRoutes(app, deps);
  registerUsageRoutes(app, deps);
  registerAgentAdminRoutes(app, deps);
  registerBeadRoutes(app, deps);
  registerConvoyRoutes(app, deps);
  registerActivityRoutes(app, deps);
  registerMayorSessionRoutes(app, deps);
  registerContainerRoutes(app, deps);
  registerDeletionRoutes(app, deps);
  registerEscalationRoutes(app, deps);
  registerAgentRestartRoutes(app, deps);
  registerNudgeRoutes(app, deps);
  registerEventStreamRoute(app, deps);
  return app;
}
