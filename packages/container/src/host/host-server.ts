import { Hono } from 'hono';
import { z } from 'zod';
import {
  CONTAINER_KEY_HEADER,
  deriveTownContainerKey,
  EnvVarNameSchema,
  isTownContainerKeyShape,
  GastownError,
  HOST_API,
  HOST_INSTANCE_HEADER,
  hostContainerPath,
  LIMITS,
  TownIdSchema,
} from '@gastown/protocol';
import { secretsEqual } from '../server/container-auth';
import { readJsonBody } from '../server/json-body';
import type { ContainerHost } from './container-host';

export const HostSettingsRequestSchema = z
  .object({
    envVars: z.record(EnvVarNameSchema, z.string().max(LIMITS.maxEnvValueChars)).optional(),
    sleepAfterSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional(),
  })
  .strict();

/** A path under HOST_API.container (forwarded to the town's container): its town id segment. */
const FORWARDED_PATH = /^\/towns\/([^/]+)\/container(?:\/|$)/;

/**
 * HTTP adapter over ContainerHost: settings, inspection, and forwarding to the town's container.
 * Routes: HOST_API of @gastown/protocol. Two keys (CONTAINER_KEY_HEADER):
 * - the host's own routes take the deployment's container key (`containerKey`, GASTOWN_CONTAINER_KEY);
 * - a request forwarded to a town's container takes that town's key (derived from the deployment key
 *   and the town id, @gastown/protocol `deriveTownContainerKey`): the only key its container knows.
 *   A town's key opens neither the host's routes nor another town's container; a bad town id is
 *   not_found before any key is looked at. Checked before routing: a refused request starts nothing.
 */
export function createHostApp(host: ContainerHost, containerKey: string): Hono {
  const app = new Hono();

  app.use('*', async function requireKey(c, next) {
    const refused = () => new GastownError('container_unauthorized', 'missing or wrong container key');
    const presented = c.req.header(CONTAINER_KEY_HEADER) ?? '';
    const forwarded = FORWARDED_PATH.exec(c.req.path);
    if (!forwarded) {
      if (!secretsEqual(presented, containerKey)) throw refused();
      return next();
    }
    const townId = parseTownId(forwarded[1]);
    // what cannot be a town key is refused before the (asynchronous) derivation
    if (!isTownContainerKeyShape(presented) || !secretsEqual(presented, await deriveTownContainerKey(containerKey, townId))) throw refused();
    return next();
  });

  app.put(HOST_API.settings, async function putSettings(c) {
    const townId = parseTownId(c.req.param('townId'));
    // size limit, 415 and bad_json like every other JSON route (c.req.json() took any media type, any size)
    const body = HostSettingsRequestSchema.safeParse(await readJsonBody(c));
    if (!body.success) throw new GastownError('validation_failed', body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const state = host.configure(townId, {
      ...(body.data.envVars ? { envVars: body.data.envVars } : {}),
      ...(body.data.sleepAfterSeconds ? { sleepAfterMs: body.data.sleepAfterSeconds * 1000 } : {}),
    });
    return c.json(withoutInbound(state));
  });

  app.get(HOST_API.state, function getState(c) {
    const townId = parseTownId(c.req.param('townId'));
    return c.json(host.state(townId));
  });

  app.post(HOST_API.keepAwake, function keepAwake(c) {
    const townId = parseTownId(c.req.param('townId'));
    return c.json({ running: host.keepAwake(townId) });
  });

  app.post(HOST_API.kill, function killContainer(c) {
    const townId = parseTownId(c.req.param('townId'));
    return c.json({ killed: host.kill(townId) });
  });

  app.post(HOST_API.stop, async function stopContainer(c) {
    const townId = parseTownId(c.req.param('townId'));
    await host.stop(townId);
    return c.json({ stopped: true });
  });

  app.post(HOST_API.destroy, async function destroyTown(c) {
    const townId = parseTownId(c.req.param('townId'));
    return c.json({ wasRunning: await host.destroy(townId) });
  });

  app.all(HOST_API.forward, async function forward(c) {
    const townId = parseTownId(c.req.param('townId'));
    const prefix = hostContainerPath(townId);
    const url = new URL(c.req.url);
    const path = url.pathname.slice(prefix.length) || '/';
    const proc = await host.acquire(townId, c.req.method, path);
    try {
      const headers = new Headers(c.req.raw.headers);
      headers.delete('host');
      const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD';
      const response = await fetch(proc.url + path + url.search, {
        method: c.req.method,
        headers,
        body: hasBody ? await c.req.arrayBuffer() : undefined,
      }).catch(() => {
        throw new GastownError('container_unavailable', 'town container did not answer');
      });
      const body = await response.arrayBuffer();
      const out = new Headers(response.headers);
      out.set(HOST_INSTANCE_HEADER, proc.instanceId);
      out.delete('content-length');
      out.delete('transfer-encoding');
      return new Response(body, { status: response.status, headers: out });
    } finally {
      host.release(townId);
    }
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'no such route' } }, 404));
  app.onError((error, c) => {
    if (error instanceof GastownError) return c.json(error.toBody(), error.status as 400);
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  return app;
}

function parseTownId(value: string | undefined): string {
  const parsed = TownIdSchema.safeParse(value);
  if (!parsed.success) throw new GastownError('not_found', 'no such town');
  return parsed.data;
}

function withoutInbound<T extends { inbound: unknown }>(state: T): Omit<T, 'inbound'> {
  const { inbound: _inbound, ...rest } = state;
  return rest;
}
