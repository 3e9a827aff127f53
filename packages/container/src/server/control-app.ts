import { AgentIdSchema, CONTAINER_API, RigIdSchema, type ContainerHealth } from '@gastown/protocol';
import { Hono, type Context } from 'hono';
import type { Logger } from '../log/logger';
import { parseBody } from '../supervisor/parse';
import type { AgentControl } from '../supervisor/types';
import { containerAuth } from './container-auth';
import { errorHandler, notFoundHandler } from './error-handler';
import { readJsonBody } from './json-body';

export interface ControlAppOptions {
  control: AgentControl;
  containerKey: string;
  instanceId: string;
  startedAt: number;
  logger: Logger;
}

/**
 * The container control API (CONTAINER_API), called by the control plane. Every route
 * needs the container key except GET /health, which reveals only readiness facts.
 */
export function createControlApp(options: ControlAppOptions): Hono {
  const { control, instanceId, startedAt } = options;
  const app = new Hono();
  app.onError(errorHandler(options.logger));
  app.notFound(notFoundHandler);
  app.use('*', containerAuth({ containerKey: options.containerKey, publicRoutes: [{ method: 'GET', path: CONTAINER_API.health }] }));

  app.get(CONTAINER_API.health, function health(c) {
    const body: ContainerHealth = { ok: true, instanceId, startedAt, agents: control.liveCount() };
    return c.json(body);
  });

  app.get(CONTAINER_API.agents, function listAgents(c) {
    return c.json({ agents: control.list() });
  });

  app.post(CONTAINER_API.agents, async function startAgent(c) {
    return c.json(await control.start(await readJsonBody(c)));
  });

  app.get(CONTAINER_API.agent, function agentStatus(c) {
    return c.json(control.status(agentIdParam(c)));
  });

  app.post(CONTAINER_API.messages, async function deliverMessage(c) {
    const agentId = agentIdParam(c);
    return c.json(await control.deliver(agentId, await readJsonBody(c)));
  });

  app.post(CONTAINER_API.nudge, async function nudgeAgent(c) {
    const agentId = agentIdParam(c);
    return c.json(await control.nudge(agentId, await readJsonBody(c)));
  });

  app.post(CONTAINER_API.credentials, async function pushCredentials(c) {
    const agentId = agentIdParam(c);
    return c.json(control.push(agentId, await readJsonBody(c)));
  });

  app.post(CONTAINER_API.stop, async function stopAgent(c) {
    const agentId = agentIdParam(c);
    // only an absent body means "no reason"; a JSON null is a bad body like any other
    const body = await readJsonBody(c);
    return c.json(await control.stop(agentId, body === undefined ? {} : body));
  });

  app.post(CONTAINER_API.merge, async function acceptMerge(c) {
    control.merge(await readJsonBody(c));
    return c.json({ accepted: true as const }, 202);
  });

  app.post(CONTAINER_API.removeRig, async function removeRig(c) {
    const rigId = parseBody(RigIdSchema, c.req.param('rigId'));
    return c.json(await control.removeRig(rigId, await readJsonBody(c)));
  });

  return app;
}

function agentIdParam(c: Context): string {
  return parseBody(AgentIdSchema, c.req.param('agentId'));
}
