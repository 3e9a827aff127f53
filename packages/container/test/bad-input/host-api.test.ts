/**
 * The local container host API (control plane → host: the deployment's key for the host's own
 * routes, the town's derived key for what is forwarded to its container) × bad input: every host
 * route × the wrong credential, bad settings bodies, hostile town ids, and bad bodies forwarded to
 * the town's container. Each → typed 4xx; a refused request neither configures the town nor starts
 * (or wakes) its container; the host and the container stay up.
 */
import { CONTAINER_KEY_HEADER, deriveTownContainerKey, LIMITS, type ErrorCode } from '@gastown/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerHost } from '../../src/host/container-host';
import type { ContainerProcess } from '../../src/host/container-process';
import { createHostApp } from '../../src/host/host-server';
import { listen, type RunningServer } from '../../src/server';
import { HOSTILE_STRINGS } from '@gastown/testkit/hostile-strings';
import {
  bodyShapeCases,
  CONTAINER_KEY,
  expectRefusal,
  keyHeaders,
  rawHttp,
  send,
  snapshot,
  startStack,
  TOWN_ID,
  type RefusalCase,
  type Stack,
} from './support';

const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

interface HostWorld {
  host: ContainerHost;
  server: RunningServer;
  spawns: Array<Record<string, string>>;
  configures: number;
}

let s: Stack;
let h: HostWorld;
/** The town's container key: what the host hands the town's container, and what forwarded requests carry. */
let townKey: string;
let otherTownKey: string;
const townKeyHeaders = (extra: Record<string, string> = {}): Record<string, string> => ({ [CONTAINER_KEY_HEADER]: townKey, ...extra });

beforeAll(async () => {
  townKey = await deriveTownContainerKey(CONTAINER_KEY, TOWN_ID);
  otherTownKey = await deriveTownContainerKey(CONTAINER_KEY, 'town_badinput2');
  s = await startStack({ containerKey: townKey });
  const spawns: HostWorld['spawns'] = [];
  // the "town container" is the stack's running container; the host never stops or kills it
  const proc: ContainerProcess = {
    pid: 1,
    url: s.container.url,
    instanceId: s.container.instanceId,
    exited: new Promise(() => {}),
    stop: async () => {},
    kill: () => {},
  };
  const host = new ContainerHost({
    clock: { now: () => Date.now() },
    timers: { setTimeout: () => null, clearTimeout: () => {} },
    logger: silent,
    defaultSleepAfterMs: 60_000,
    stopGraceMs: 1000,
    spawn: async (_townId, env) => {
      spawns.push(env);
      return proc;
    },
  });
  const world: HostWorld = { host, server: await listen(createHostApp(host, CONTAINER_KEY), { port: 0, hostname: '127.0.0.1' }), spawns, configures: 0 };
  const configure = host.configure.bind(host);
  host.configure = (townId, patch) => {
    world.configures += 1;
    return configure(townId, patch);
  };
  h = world;
}, 60_000);
afterAll(async () => {
  await h?.server.close();
  await s?.stop();
});

const hostUrl = (path: string) => `${h.server.url}${path}`;

/** Host-side state: settings calls, container starts, and the town's state (inbound log included). */
async function hostSnapshot(): Promise<unknown> {
  return { configures: h.configures, spawns: h.spawns.length, state: h.host.state(TOWN_ID), container: await snapshot(s) };
}

async function runHostRefusal(c: RefusalCase): Promise<void> {
  const before = await hostSnapshot();
  const res = await c.send(s);
  expectRefusal(res, c.code, c.name, [...s.secrets(), ...(c.echo?.(s) ?? [])]);
  expect(await hostSnapshot(), `state changed: ${c.name}`).toEqual(before);
}

interface Route {
  method: string;
  path: (townId: string) => string;
  body?: unknown;
  /** Forwarded to the town's container: the town's key opens it, not the deployment's. */
  forwarded?: boolean;
}

const ROUTES: Route[] = [
  { method: 'PUT', path: (t) => `/towns/${t}/settings`, body: { sleepAfterSeconds: 60 } },
  { method: 'GET', path: (t) => `/towns/${t}/state` },
  { method: 'POST', path: (t) => `/towns/${t}/keep-awake` },
  { method: 'POST', path: (t) => `/towns/${t}/kill` },
  { method: 'POST', path: (t) => `/towns/${t}/stop` },
  { method: 'GET', path: (t) => `/towns/${t}/container/agents`, forwarded: true },
  { method: 'POST', path: (t) => `/towns/${t}/container/agents/ag_mayor0001/messages`, body: { text: 'hi' }, forwarded: true },
];

/** The key a route takes is refused everywhere else: the town's on the host's own routes, the deployment's and another town's on forwarded ones. */
const CROSS_KEY_CASES: RefusalCase[] = ROUTES.flatMap((r) =>
  (r.forwarded
    ? [
        { name: "the deployment's key", key: () => CONTAINER_KEY },
        { name: "another town's key", key: () => otherTownKey },
      ]
    : [{ name: "the town's container key", key: () => townKey }]
  ).map((k): RefusalCase => ({
    name: `${r.method} ${r.path(':town')} with ${k.name}`,
    code: 'container_unauthorized',
    send: () => send(r.method, hostUrl(r.path(TOWN_ID)), { headers: { [CONTAINER_KEY_HEADER]: k.key() }, ...(r.body ? { json: r.body } : {}) }),
  })),
);

const PRESENTATIONS: Array<{ name: string; headers: (st: Stack) => Record<string, string> }> = [
  { name: 'no key', headers: () => ({}) },
  { name: 'a wrong key', headers: () => ({ [CONTAINER_KEY_HEADER]: `${CONTAINER_KEY.slice(0, -1)}X` }) },
  { name: 'the key as a bearer', headers: () => ({ authorization: `Bearer ${CONTAINER_KEY}` }) },
  { name: 'a broker key', headers: (st) => ({ [CONTAINER_KEY_HEADER]: st.mayor.brokerKey }) },
  { name: 'an agent access token', headers: (st) => ({ [CONTAINER_KEY_HEADER]: st.mayor.credentials.accessToken }) },
];

const AUTH_CASES: RefusalCase[] = ROUTES.flatMap((r) => [
  ...PRESENTATIONS.map((p): RefusalCase => ({
    name: `${r.method} ${r.path(':town')} with ${p.name}`,
    code: 'container_unauthorized',
    send: (st) => send(r.method, hostUrl(r.path(TOWN_ID)), { headers: p.headers(st), ...(r.body ? { json: r.body } : {}) }),
  })),
  {
    name: `${r.method} ${r.path(':town')} with the key sent twice`,
    code: 'container_unauthorized',
    send: () =>
      rawHttp(
        h.server.url,
        `${r.method} ${r.path(TOWN_ID)} HTTP/1.1\n${CONTAINER_KEY_HEADER}: ${CONTAINER_KEY}\n${CONTAINER_KEY_HEADER}: ${CONTAINER_KEY}\ncontent-type: application/json\ncontent-length: 2`,
        '{}',
      ),
  },
]);

const SETTINGS_CASES: RefusalCase[] = [
  ...bodyShapeCases({
    name: 'PUT settings',
    method: 'PUT',
    url: () => hostUrl(`/towns/${TOWN_ID}/settings`),
    headers: () => keyHeaders(),
    shape: () => ({ valid: { sleepAfterSeconds: 60, envVars: { OPENAI_API_KEY: 'x' } }, wrongType: ['sleepAfterSeconds', '60'] }),
    required: null,
  }),
  ...(
    [
      ['sleepAfterSeconds 0', { sleepAfterSeconds: 0 }],
      ['sleepAfterSeconds above a week', { sleepAfterSeconds: 7 * 24 * 3600 + 1 }],
      ['env var value too long', { envVars: { LONG: 'v'.repeat(LIMITS.maxEnvValueChars + 1) } }],
      ['env var value not a string', { envVars: { NUM: 1 } }],
      ['no body', undefined],
    ] as const
  ).map(([name, body]): RefusalCase => ({
    name: `PUT settings: ${name}`,
    code: 'validation_failed',
    send: () => send('PUT', hostUrl(`/towns/${TOWN_ID}/settings`), { headers: keyHeaders(), ...(body === undefined ? {} : { json: body }) }),
  })),
  ...HOSTILE_STRINGS.map((x): RefusalCase => ({
    name: `PUT settings: env var name = ${x.name}`,
    code: 'validation_failed',
    send: () => send('PUT', hostUrl(`/towns/${TOWN_ID}/settings`), { headers: keyHeaders(), json: { envVars: { [x.value]: 'v' } } }),
  })),
];

const TOWN_ID_CASES: RefusalCase[] = ROUTES.flatMap((r) =>
  HOSTILE_STRINGS.slice(0, 6).map((x): RefusalCase => ({
    name: `${r.method} ${r.path(':town')} with town id = ${x.name}`,
    code: 'not_found' as ErrorCode,
    send: () => send(r.method, hostUrl(r.path(encodeURIComponent(x.value))), { headers: keyHeaders(), ...(r.body ? { json: r.body } : {}) }),
    echo: () => [x.value],
  })),
);

describe('container host API × bad input', () => {
  it.each([...AUTH_CASES, ...CROSS_KEY_CASES, ...SETTINGS_CASES, ...TOWN_ID_CASES])('$name → $code, nothing configured or started', async (c) => {
    await runHostRefusal(c);
  });

  it.each([
    { name: 'truncated JSON', code: 'bad_json' as const, raw: '{"text": ', type: 'application/json' },
    { name: 'text/plain', code: 'unsupported_media_type' as const, raw: '{"text":"hi"}', type: 'text/plain' },
    { name: 'unknown field', code: 'validation_failed' as const, raw: '{"text":"hi","isAdmin":true}', type: 'application/json' },
    { name: 'oversized', code: 'payload_too_large' as const, raw: JSON.stringify({ text: 'x'.repeat(LIMITS.maxBodyBytes) }), type: 'application/json' },
  ])('a forwarded bad body reaches the container and comes back typed: $name → $code, no prompt delivered', async ({ code, raw, type, name }) => {
    const before = await snapshot(s);
    const res = await send('POST', hostUrl(`/towns/${TOWN_ID}/container/agents/${s.mayor.identity.id}/messages`), {
      headers: townKeyHeaders({ 'content-type': type }),
      raw,
    });
    expectRefusal(res, code, name, s.secrets());
    expect(await snapshot(s)).toEqual(before);
  });

  it('forward path escapes never reach another host route', async () => {
    const configures = h.configures;
    for (const path of [
      `/towns/${TOWN_ID}/container/../settings`,
      `/towns/${TOWN_ID}/container/%2e%2e/settings`,
      `/towns/${TOWN_ID}/container/..%2fsettings`,
    ]) {
      const res = await rawHttp(
        h.server.url,
        `PUT ${path} HTTP/1.1\n${CONTAINER_KEY_HEADER}: ${CONTAINER_KEY}\ncontent-type: application/json\ncontent-length: 22`,
        '{"sleepAfterSeconds":1}',
      );
      expect({ path, ok: res.status < 300 }).toEqual({ path, ok: false });
    }
    expect(h.configures).toBe(configures);
  });

  it('afterwards host and container answer, and good requests work', async () => {
    expect((await send('GET', hostUrl(`/towns/${TOWN_ID}/state`), { headers: keyHeaders() })).status).toBe(200);
    expect((await send('PUT', hostUrl(`/towns/${TOWN_ID}/settings`), { headers: keyHeaders(), json: { sleepAfterSeconds: 60 } })).status).toBe(200);
    const list = await send('GET', hostUrl(`/towns/${TOWN_ID}/container/agents`), { headers: townKeyHeaders() });
    expect({ status: list.status, agents: list.body.agents.length }).toEqual({ status: 200, agents: 3 });
  });
});
