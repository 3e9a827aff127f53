import { CONTAINER_KEY_HEADER, deriveTownContainerKey, GastownError } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { containerClientFactoryFromEnv, containerMode } from '../../src/town/container/client-factory';
import type { ContainerCall, ContainerCallResult } from '../../src/town/container/container-rpc';
import { ControlApiContainerClient } from '../../src/town/container/control-api-client';
import { DurableObjectTransport, type TownContainerRpc } from '../../src/town/container/do-transport';
import { HostTransport } from '../../src/town/container/host-transport';
import { NullContainerClient, type ContainerSettings } from '../../src/town/container-client';
import { toRpcResult } from '../../src/town/rpc-result';
import { validSleepAfterSeconds, validTownEnvVars } from '../../src/town/container/town-container-settings';
import { runtimeStatus } from '../support/fake-container';

const KEY = 'host-container-key-0123456789abcdef';
const TOWN = 'town_abcdef123456';
const BASE_URL = 'http://127.0.0.1:8788';

interface Seen {
  method: string;
  url: string;
  key: string | null;
  body: unknown;
}

/** A container host on a fetch function: answers by route, records every request. */
function fakeHost(options: { running?: boolean; answer?: (path: string, method: string) => Response; unreachable?: boolean } = {}) {
  const seen: Seen[] = [];
  const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const headers = new Headers(init?.headers);
    seen.push({ method, url, key: headers.get(CONTAINER_KEY_HEADER), body: init?.body ? JSON.parse(String(init.body)) : undefined });
    if (options.unreachable) throw new TypeError('fetch failed');
    const path = new URL(url).pathname;
    if (path === `/towns/${TOWN}/state`) return Response.json({ running: options.running ?? false, instanceId: options.running ? 'ci_1' : null });
    if (path === `/towns/${TOWN}/settings`) return Response.json({ running: false });
    if (path === `/towns/${TOWN}/keep-awake`) return Response.json({ running: options.running ?? false });
    const inner = path.slice(`/towns/${TOWN}/container`.length);
    const res = options.answer ? options.answer(inner, method) : Response.json({ error: { code: 'not_found', message: 'no such agent' } }, { status: 404 });
    const headers2 = new Headers(res.headers);
    headers2.set('x-gastown-instance-id', 'ci_1');
    return new Response(res.body, { status: res.status, headers: headers2 });
  }) as typeof fetch;
  const client = new ControlApiContainerClient(new HostTransport({ baseUrl: `${BASE_URL}/`, containerKey: KEY, townId: TOWN, fetch: fetcher }));
  return { client, seen };
}

const grant = { accessToken: 'x'.repeat(40), accessTokenExpiresAt: 2, accessTokenIssuedAt: 1, gen: 1 };
const AGENT = 'ag_abcdef123456';

describe('HostContainerClient (local container host over HTTP)', () => {
  it.each([
    { name: 'status', run: (c: ControlApiContainerClient) => c.status(AGENT), expected: null },
    { name: 'push', run: (c: ControlApiContainerClient) => c.push(AGENT, { grant, refresh: null }), expected: 'not_running' },
    { name: 'stop', run: (c: ControlApiContainerClient) => c.stop(AGENT, 'bye'), expected: 'not_running' },
  ])('$name never wakes a sleeping town: only GET /state is asked', async ({ run, expected }) => {
    const host = fakeHost({ running: false });
    expect(await run(host.client)).toEqual(expected);
    expect(host.seen.map((s) => `${s.method} ${new URL(s.url).pathname}`)).toEqual([`GET /towns/${TOWN}/state`]);
    expect(host.seen[0]!.key).toBe(KEY);
  });

  it("an awake town: push goes through to /towns/:townId/container/agents/:id/credentials with the town's container key (the host's own route with the deployment's)", async () => {
    const host = fakeHost({ running: true, answer: () => Response.json(runtimeStatus(AGENT, 'polecat', 1, 'working')) });
    expect(await host.client.push(AGENT, { grant, refresh: null })).toBe('delivered');
    expect(host.seen.map((s) => `${s.method} ${new URL(s.url).pathname}`)).toEqual([
      `GET /towns/${TOWN}/state`,
      `POST /towns/${TOWN}/container/agents/${AGENT}/credentials`,
    ]);
    expect(host.seen[0]!.key).toBe(KEY);
    expect(host.seen[1]).toMatchObject({ key: await deriveTownContainerKey(KEY, TOWN), body: { grant, refresh: null } });
    expect(host.seen[1]!.key).not.toBe(KEY);
  });

  it("every call forwarded to a town's container carries that town's key, never the deployment's or another town's", async () => {
    const host = fakeHost({
      running: true,
      answer: (path) =>
        path === '/git/merge' ? Response.json({ accepted: true }, { status: 202 }) : Response.json(runtimeStatus(AGENT, 'mayor', 1, 'working')),
    });
    await host.client.start({ agent: { id: AGENT, townId: TOWN, rigId: null, userId: 'u', role: 'mayor', name: 'mayor', gen: 1 } } as never);
    await host.client.deliver(AGENT, { text: 'hi', grant });
    await host.client.stop(AGENT, 'bye');
    await host.client.status(AGENT);
    const townKey = await deriveTownContainerKey(KEY, TOWN);
    const forwarded = host.seen.filter((s) => new URL(s.url).pathname.startsWith(`/towns/${TOWN}/container/`));
    expect(forwarded.length).toBe(4);
    expect(new Set(forwarded.map((s) => s.key))).toEqual(new Set([townKey]));
    expect(townKey).not.toBe(await deriveTownContainerKey(KEY, 'town_other123456'));
  });

  it('stop sends its reason, and afterTurn only when asked (the spend cap: stop after the model call in flight)', async () => {
    const host = fakeHost({ running: true, answer: () => Response.json({ ok: true }) });
    expect(await host.client.stop(AGENT, 'bye')).toBe('delivered');
    expect(await host.client.stop(AGENT, 'spend_cap', { afterTurn: true })).toBe('delivered');
    const stops = host.seen.filter((s) => new URL(s.url).pathname.endsWith(`/agents/${AGENT}/stop`));
    expect(stops.map((s) => s.body)).toEqual([{ reason: 'bye' }, { reason: 'spend_cap', afterTurn: true }]);
  });

  it('start, deliver and merge may wake the town: no state check, straight to the container', async () => {
    const host = fakeHost({
      running: false,
      answer: (path) =>
        path === '/git/merge' ? Response.json({ accepted: true }, { status: 202 }) : Response.json(runtimeStatus(AGENT, 'mayor', 1, 'working')),
    });
    const status = await host.client.start({ agent: { id: AGENT, townId: TOWN, rigId: null, userId: 'u', role: 'mayor', name: 'mayor', gen: 1 } } as never);
    expect(status.agentId).toBe(AGENT);
    expect(await host.client.deliver(AGENT, { text: 'hi', grant })).toBe('delivered');
    expect(
      await host.client.merge({
        agentId: AGENT,
        rig: { id: 'rig_abcdef', name: 'r', gitUrl: '/tmp/r', defaultBranch: 'main', auth: 'none' },
        mergeRequestBeadId: 'bd_abcdef',
        branch: 'b',
        commit: 'a'.repeat(40),
        message: 'm',
        strategy: 'direct',
      }),
    ).toEqual({ accepted: true });
    expect(host.seen.map((s) => `${s.method} ${new URL(s.url).pathname}`)).toEqual([
      `POST /towns/${TOWN}/container/agents`,
      `POST /towns/${TOWN}/container/agents/${AGENT}/messages`,
      `POST /towns/${TOWN}/container/git/merge`,
    ]);
  });

  it('settings: PUT /towns/:townId/settings {envVars, sleepAfterSeconds}', async () => {
    const host = fakeHost();
    await host.client.configure({ envVars: { LLM_API_KEY: 'sk-1' }, sleepAfterSeconds: 60 });
    expect(host.seen).toEqual([
      { method: 'PUT', url: `${BASE_URL}/towns/${TOWN}/settings`, key: KEY, body: { envVars: { LLM_API_KEY: 'sk-1' }, sleepAfterSeconds: 60 } },
    ]);
  });

  it('keep-awake: POST /towns/:townId/keep-awake (never the container itself), true only for an awake town', async () => {
    for (const running of [true, false]) {
      const host = fakeHost({ running });
      expect(await host.client.keepAwake()).toBe(running);
      expect(host.seen.map((s) => `${s.method} ${new URL(s.url).pathname}`)).toEqual([`POST /towns/${TOWN}/keep-awake`]);
      expect(host.seen[0]!.key).toBe(KEY);
    }
  });

  it.each([
    {
      name: 'no such agent (404) → not_running',
      answer: () => Response.json({ error: { code: 'not_found', message: 'no agent' } }, { status: 404 }),
      expected: 'not_running',
    },
    {
      name: 'agent exited or stopping (409) → ending (its completion report is on its way)',
      answer: () => Response.json({ error: { code: 'conflict', message: 'agent is exited' } }, { status: 409 }),
      expected: 'ending',
    },
  ])('deliver: $name', async ({ answer, expected }) => {
    expect(await fakeHost({ answer }).client.deliver(AGENT, { text: 'x', grant: null })).toBe(expected);
  });

  it.each([
    {
      name: 'container start failure keeps its code and message',
      answer: () => Response.json({ error: { code: 'container_unavailable', message: 'opencode binary missing' } }, { status: 503 }),
      code: 'container_unavailable',
      message: 'opencode binary missing',
    },
    {
      name: 'a newer generation runs (409)',
      answer: () => Response.json({ error: { code: 'conflict', message: 'already runs generation 3' } }, { status: 409 }),
      code: 'conflict',
      message: 'generation 3',
    },
    {
      name: 'an internal error is upstream_failed with its message',
      answer: () => Response.json({ error: { code: 'internal', message: 'git clone failed: repository not found' } }, { status: 500 }),
      code: 'upstream_failed',
      message: 'repository not found',
    },
    {
      name: 'a wrong container key is upstream_failed naming the setting',
      answer: () => Response.json({ error: { code: 'container_unauthorized', message: 'invalid container key' } }, { status: 401 }),
      code: 'upstream_failed',
      message: 'GASTOWN_CONTAINER_KEY',
    },
    { name: 'a non-JSON answer', answer: () => new Response('<html>bad gateway</html>', { status: 502 }), code: 'upstream_failed', message: 'HTTP 502' },
    { name: 'a 200 that is not an agent status', answer: () => Response.json({ hello: 1 }), code: 'upstream_failed', message: 'unexpected agent status' },
  ])('start: $name', async ({ answer, code, message }) => {
    const host = fakeHost({ answer });
    const err = await host.client.start({} as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GastownError);
    expect((err as GastownError).code).toBe(code);
    expect((err as GastownError).message).toContain(message);
  });

  it('an unreachable host → container_unavailable (never a silent success), for waking and non-waking calls', async () => {
    const host = fakeHost({ unreachable: true });
    for (const run of [
      () => host.client.status(AGENT),
      () => host.client.deliver(AGENT, { text: 'x', grant: null }),
      () => host.client.configure({ envVars: {}, sleepAfterSeconds: 60 }),
    ]) {
      const err = await run().catch((e: unknown) => e);
      expect((err as GastownError).code).toBe('container_unavailable');
    }
  });
});

describe('DO container client (production TownContainerDO over RPC)', () => {
  function fakeStub(running: boolean) {
    const calls: unknown[] = [];
    const stub: TownContainerRpc = {
      async call(req: ContainerCall): Promise<ContainerCallResult> {
        calls.push(['call', req]);
        if (!req.wake && !running) return { running: false };
        return { running: true, status: 200, body: JSON.stringify(runtimeStatus(AGENT, 'mayor', 1, 'waiting')), instanceId: null };
      },
      async setEnvVars(vars) {
        calls.push(['setEnvVars', vars]);
        return { ok: true, value: undefined };
      },
      async configure(patch) {
        calls.push(['configure', patch]);
        return { ok: true, value: undefined };
      },
      async restart() {
        return { ok: true, value: { wasRunning: running } };
      },
      async destroyTown() {
        return { ok: true, value: { wasRunning: running } };
      },
      async keepAwake() {
        calls.push(['keepAwake']);
        return running;
      },
    };
    return { client: new ControlApiContainerClient(new DurableObjectTransport(stub, TOWN)), calls };
  }

  it('non-waking calls say wake: false; start/deliver say wake: true; settings become setEnvVars + configure', async () => {
    const { client, calls } = fakeStub(false);
    expect(await client.status(AGENT)).toBeNull();
    expect(await client.push(AGENT, { grant, refresh: null })).toBe('not_running');
    expect(await client.deliver(AGENT, { text: 'hi', grant })).toBe('delivered');
    await client.configure({ envVars: { K: 'v' }, sleepAfterSeconds: 300 });
    expect(await client.keepAwake()).toBe(false);
    expect(calls).toEqual([
      ['call', { method: 'GET', path: `/agents/${AGENT}`, wake: false }],
      ['call', { method: 'POST', path: `/agents/${AGENT}/credentials`, body: { grant, refresh: null }, wake: false }],
      ['call', { method: 'POST', path: `/agents/${AGENT}/messages`, body: { text: 'hi', grant }, wake: true }],
      ['setEnvVars', { K: 'v' }],
      ['configure', { sleepAfterSeconds: 300 }],
      ['keepAwake'],
    ]);
  });
});

/**
 * What crosses a Workers RPC boundary: return values are structured-cloned; a thrown error keeps
 * only its message (its class and `code` are lost).
 */
function overWorkersRpc<T extends object>(target: T): T {
  return new Proxy(target, {
    get(obj, key) {
      const member = Reflect.get(obj, key) as unknown;
      if (typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        try {
          return structuredClone(await (member as (...a: unknown[]) => Promise<unknown>).apply(obj, args));
        } catch (err) {
          throw new Error(err instanceof Error ? err.message : 'rpc failed');
        }
      };
    },
  });
}

describe('DO container client: a refused setting is validation_failed (400), not container_unavailable (503)', () => {
  /** The settings methods of TownContainerDO (which cannot be instantiated without a container runtime), over RPC. */
  function fakeTownContainerDo() {
    const stored: { envVars: Record<string, string> | null; sleepAfterSeconds: number | null } = { envVars: null, sleepAfterSeconds: null };
    const logger = { info() {}, warn() {}, error() {} };
    const target: TownContainerRpc = {
      async call() {
        return { running: false };
      },
      setEnvVars: (vars) => toRpcResult(logger, 'setEnvVars', () => void (stored.envVars = validTownEnvVars(vars))),
      configure: (patch) =>
        toRpcResult(logger, 'configure', () => {
          if (patch.sleepAfterSeconds !== undefined) stored.sleepAfterSeconds = validSleepAfterSeconds(patch.sleepAfterSeconds);
        }),
      async keepAwake() {
        return false;
      },
      restart: async () => ({ ok: true, value: { wasRunning: false } }),
      destroyTown: async () => ({ ok: true, value: { wasRunning: false } }),
    };
    return { client: new ControlApiContainerClient(new DurableObjectTransport(overWorkersRpc(target), TOWN)), stored };
  }

  it('good settings are stored', async () => {
    const { client, stored } = fakeTownContainerDo();
    await client.configure({ envVars: { LLM_API_KEY: 'sk-1' }, sleepAfterSeconds: 600 });
    expect(stored).toEqual({ envVars: { LLM_API_KEY: 'sk-1' }, sleepAfterSeconds: 600 });
  });

  it.each<{ name: string; settings: ContainerSettings; message: string }>([
    { name: 'a bad env var name', settings: { envVars: { 'bad name': 'v' }, sleepAfterSeconds: 600 }, message: 'invalid env var name' },
    { name: 'an env var name starting with a digit', settings: { envVars: { '1X': 'v' }, sleepAfterSeconds: 600 }, message: 'invalid env var name' },
    { name: 'sleepAfterSeconds 0', settings: { envVars: {}, sleepAfterSeconds: 0 }, message: 'sleepAfterSeconds out of range' },
    { name: 'sleepAfterSeconds above 7 days', settings: { envVars: {}, sleepAfterSeconds: 7 * 24 * 3600 + 1 }, message: 'sleepAfterSeconds out of range' },
    { name: 'sleepAfterSeconds not an integer', settings: { envVars: {}, sleepAfterSeconds: 1.5 }, message: 'sleepAfterSeconds out of range' },
  ])('$name → validation_failed (400)', async ({ settings, message }) => {
    const { client, stored } = fakeTownContainerDo();
    const err = await client.configure(settings).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GastownError);
    expect((err as GastownError).code).toBe('validation_failed');
    expect((err as GastownError).status).toBe(400);
    expect((err as GastownError).message).toBe(message);
    if (message === 'invalid env var name') expect(stored).toEqual({ envVars: null, sleepAfterSeconds: null });
  });

  it('a DO that cannot be reached, or throws, is still container_unavailable (503)', async () => {
    const broken = overWorkersRpc<TownContainerRpc>({
      call: async () => {
        throw new GastownError('validation_failed', 'lost over RPC');
      },
      setEnvVars: async () => {
        throw new TypeError('network connection lost');
      },
      configure: async () => ({ ok: true, value: undefined }),
      keepAwake: async () => {
        throw new Error('durable object reset');
      },
      restart: async () => {
        throw new Error('durable object reset');
      },
      destroyTown: async () => {
        throw new Error('durable object reset');
      },
    });
    const client = new ControlApiContainerClient(new DurableObjectTransport(broken, TOWN));
    for (const run of [
      () => client.configure({ envVars: {}, sleepAfterSeconds: 60 }),
      () => client.keepAwake(),
      () => client.deliver(AGENT, { text: 'x', grant: null }),
    ]) {
      const err = await run().catch((e: unknown) => e);
      expect((err as GastownError).code).toBe('container_unavailable');
      expect((err as GastownError).status).toBe(503);
    }
  });
});

describe('which container runtime (decided before any Durable Object is touched)', () => {
  it.each([
    { name: 'host URL set → host', env: { GASTOWN_CONTAINER_HOST_URL: BASE_URL }, mode: 'host' },
    { name: 'host URL wins over a TOWN_CONTAINER binding', env: { GASTOWN_CONTAINER_HOST_URL: BASE_URL, TOWN_CONTAINER: {} }, mode: 'host' },
    { name: 'only the production binding → cloudflare', env: { TOWN_CONTAINER: {} }, mode: 'cloudflare' },
    { name: 'neither (tests, wrangler dev without a host) → none', env: {}, mode: 'none' },
    { name: 'a blank host URL counts as unset', env: { GASTOWN_CONTAINER_HOST_URL: '  ' }, mode: 'none' },
  ])('$name', ({ env, mode }) => {
    expect(containerMode(env as never)).toBe(mode);
  });

  it('none → the null client; a runtime without GASTOWN_CONTAINER_KEY or with a bad host URL fails fast', () => {
    expect(containerClientFactoryFromEnv({} as never)(TOWN)).toBeInstanceOf(NullContainerClient);
    expect(() => containerClientFactoryFromEnv({ GASTOWN_CONTAINER_HOST_URL: BASE_URL } as never)).toThrow(/GASTOWN_CONTAINER_KEY/);
    expect(() => containerClientFactoryFromEnv({ GASTOWN_CONTAINER_HOST_URL: 'ftp://x', GASTOWN_CONTAINER_KEY: KEY } as never)).toThrow(
      /GASTOWN_CONTAINER_HOST_URL/,
    );
    expect(containerClientFactoryFromEnv({ GASTOWN_CONTAINER_HOST_URL: BASE_URL, GASTOWN_CONTAINER_KEY: KEY } as never)(TOWN)).toBeInstanceOf(
      ControlApiContainerClient,
    );
  });
});
