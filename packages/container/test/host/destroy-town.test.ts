/**
 * A deleted town on the local container host: ContainerHost.destroy (its container killed without
 * a drain and awaited, its settings forgotten, its data removed after the container is gone) and
 * `POST /towns/:townId/destroy` (HOST_API.destroy: the deployment's key only).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONTAINER_KEY_HEADER, deriveTownContainerKey, ErrorBodySchema, HOST_API, routePath } from '@gastown/protocol';
import { ContainerHost } from '../../src/host/container-host';
import type { ContainerProcess } from '../../src/host/container-process';
import { createHostApp } from '../../src/host/host-server';
import type { Logger } from '../../src/log';
import type { Timers } from '../../src/timers';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const TOWN = 'town_doomed01';
const OTHER_TOWN = 'town_other001';
const KEY = 'test-deployment-container-key-0123456789';
const STOP_GRACE_MS = 30_000;

interface FakeProcess extends ContainerProcess {
  /** The grace each stop was given, in order. */
  stops: number[];
  alive: boolean;
}

function fakeProcess(instanceId: string, events: string[]): FakeProcess {
  let exit!: (v: { code: number | null; signal: string | null }) => void;
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => (exit = r));
  const proc: FakeProcess = {
    pid: 1000,
    url: 'http://127.0.0.1:1',
    instanceId,
    exited,
    stops: [],
    alive: true,
    async stop(graceMs: number) {
      proc.stops.push(graceMs);
      events.push(`stop:${instanceId}:${graceMs}`);
      await Promise.resolve();
      proc.alive = false;
      exit({ code: null, signal: 'SIGKILL' });
      await exited;
      events.push(`exited:${instanceId}`);
    },
    kill() {
      proc.alive = false;
      exit({ code: null, signal: 'SIGKILL' });
    },
  };
  return proc;
}

function setup(options: { spawn?: (townId: string) => Promise<ContainerProcess>; removeData?: (townId: string) => Promise<void> } = {}) {
  vi.useFakeTimers({ now: 0 });
  const timers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
  const events: string[] = [];
  const spawned: FakeProcess[] = [];
  const spawnEnv: Array<Record<string, string>> = [];
  const removed: string[] = [];
  const host = new ContainerHost({
    clock: { now: () => Date.now() },
    timers,
    logger: silent,
    defaultSleepAfterMs: 20_000,
    stopGraceMs: STOP_GRACE_MS,
    spawn:
      options.spawn ??
      (async (_townId, env) => {
        spawnEnv.push(env);
        const p = fakeProcess(`ci_${spawned.length + 1}`, events);
        spawned.push(p);
        return p;
      }),
    removeData: async (townId) => {
      events.push(`removeData:${townId}`);
      removed.push(townId);
      await options.removeData?.(townId);
    },
  });
  return { host, events, spawned, spawnEnv, removed };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ContainerHost.destroy', () => {
  it('kills the running container at once (no stop grace), waits for it, then removes the data; true', async () => {
    const { host, events, spawned } = setup();
    await host.acquire(TOWN, 'POST', '/agents');
    host.release(TOWN);

    expect(await host.destroy(TOWN)).toBe(true);

    expect(spawned[0]!.stops).toEqual([0]);
    expect(spawned[0]!.alive).toBe(false);
    expect(events).toEqual([`stop:ci_1:0`, 'exited:ci_1', `removeData:${TOWN}`]);
    expect(host.state(TOWN)).toMatchObject({ running: false, instanceId: null, starts: 0, sleeps: 0, inbound: [] });
  });

  it("forgets the town's settings: its env vars never reach a later container; other towns are untouched", async () => {
    const { host, spawned, spawnEnv } = setup();
    host.configure(TOWN, { envVars: { PROVIDER_KEY: 'secret-of-the-deleted-town' }, sleepAfterMs: 900_000 });
    host.configure(OTHER_TOWN, { envVars: { PROVIDER_KEY: 'other' } });
    await host.acquire(TOWN, 'POST', '/agents');
    host.release(TOWN);
    await host.acquire(OTHER_TOWN, 'POST', '/agents');
    host.release(OTHER_TOWN);

    await host.destroy(TOWN);

    expect(host.state(OTHER_TOWN)).toMatchObject({ running: true, instanceId: 'ci_2', starts: 1 });
    expect(spawned[1]!.stops).toEqual([]);
    expect(host.state(TOWN).sleepAfterMs).toBe(20_000);
    await host.acquire(TOWN, 'GET', '/health');
    expect(spawnEnv.at(-1)).toEqual({});
  });

  it('cancels the sleep timer: nothing of the town runs or counts later', async () => {
    const { host, spawned } = setup();
    await host.acquire(TOWN, 'POST', '/agents');
    host.release(TOWN);
    await host.destroy(TOWN);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(spawned).toHaveLength(1);
    expect(spawned[0]!.stops).toEqual([0]);
    expect(host.state(TOWN)).toMatchObject({ running: false, sleeps: 0 });
  });

  it('a town without a container here (asleep, or never seen since the host started): false, its data removed anyway', async () => {
    const { host, events, spawned } = setup();
    expect(await host.destroy(TOWN)).toBe(false);
    expect(events).toEqual([`removeData:${TOWN}`]);

    await host.acquire(OTHER_TOWN, 'POST', '/agents');
    host.release(OTHER_TOWN);
    await host.stop(OTHER_TOWN);
    expect(await host.destroy(OTHER_TOWN)).toBe(false);
    expect(spawned[0]!.stops).toEqual([STOP_GRACE_MS]);
    expect(events.at(-1)).toBe(`removeData:${OTHER_TOWN}`);
  });

  it('a container still starting is waited for and killed (true); one that fails to start leaves false', async () => {
    const events: string[] = [];
    let ready!: (p: ContainerProcess) => void;
    const starting = setup({ spawn: () => new Promise<ContainerProcess>((r) => (ready = r)) });
    const acquiring = starting.host.acquire(TOWN, 'POST', '/agents');
    const destroying = starting.host.destroy(TOWN);
    const proc = fakeProcess('ci_late', events);
    ready(proc);
    await acquiring;
    expect(await destroying).toBe(true);
    expect(proc.stops).toEqual([0]);
    expect(starting.removed).toEqual([TOWN]);
    vi.useRealTimers();

    let fail!: (e: Error) => void;
    const failing = setup({ spawn: () => new Promise<ContainerProcess>((_r, reject) => (fail = reject)) });
    const failedAcquire = failing.host.acquire(TOWN, 'POST', '/agents').catch((e: unknown) => e);
    const failedDestroy = failing.host.destroy(TOWN);
    fail(new Error('spawn failed'));
    expect(await failedAcquire).toBeInstanceOf(Error);
    expect(await failedDestroy).toBe(false);
    expect(failing.removed).toEqual([TOWN]);
  });

  it('a data removal that fails rejects (the control plane retries); the retry removes it', async () => {
    let failures = 1;
    const { host, spawned, removed } = setup({
      removeData: async () => {
        if (failures-- > 0) throw new Error('EBUSY');
      },
    });
    await host.acquire(TOWN, 'POST', '/agents');
    host.release(TOWN);
    await expect(host.destroy(TOWN)).rejects.toThrow('EBUSY');
    expect(spawned[0]!.alive).toBe(false);
    expect(await host.destroy(TOWN)).toBe(false);
    expect(removed).toEqual([TOWN, TOWN]);
  });
});

describe('POST /towns/:townId/destroy', () => {
  const path = routePath(HOST_API.destroy, { townId: TOWN });
  const post = (app: ReturnType<typeof createHostApp>, url: string, headers: Record<string, string>) => app.request(url, { method: 'POST', headers });

  it("with the deployment's key: the town's container destroyed and its data removed → {wasRunning}", async () => {
    const { host, spawned, removed } = setup();
    const app = createHostApp(host, KEY);
    await host.acquire(TOWN, 'POST', '/agents');
    host.release(TOWN);

    let res = await post(app, path, { [CONTAINER_KEY_HEADER]: KEY });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ wasRunning: true });
    expect(spawned[0]!.stops).toEqual([0]);
    expect(removed).toEqual([TOWN]);

    res = await post(app, path, { [CONTAINER_KEY_HEADER]: KEY });
    expect(await res.json()).toEqual({ wasRunning: false });
  });

  it.each([
    { name: 'no key', headers: async () => ({}) },
    { name: 'wrong key', headers: async () => ({ [CONTAINER_KEY_HEADER]: `${KEY.slice(0, -1)}X` }) },
    { name: "the town's own container key", headers: async () => ({ [CONTAINER_KEY_HEADER]: await deriveTownContainerKey(KEY, TOWN) }) },
    { name: 'key as bearer', headers: async () => ({ authorization: `Bearer ${KEY}` }) },
  ])('$name → 401 container_unauthorized; the container runs on, nothing removed', async ({ headers }) => {
    const { host, spawned, removed } = setup();
    const app = createHostApp(host, KEY);
    await host.acquire(TOWN, 'POST', '/agents');
    host.release(TOWN);
    const res = await post(app, path, await headers());
    expect(res.status).toBe(401);
    expect(ErrorBodySchema.parse(await res.json()).error.code).toBe('container_unauthorized');
    expect(spawned[0]!.alive).toBe(true);
    expect(removed).toEqual([]);
  });

  it.each([
    { name: 'path escape', url: '/towns/..%2F..%2Fetc/destroy' },
    { name: 'not a town id', url: '/towns/TOWN-1/destroy' },
    { name: 'dot segment', url: '/towns/./destroy' },
  ])('bad town id → 404 not_found, nothing removed: $name', async ({ url }) => {
    const { host, removed } = setup();
    const res = await post(createHostApp(host, KEY), url, { [CONTAINER_KEY_HEADER]: KEY });
    expect(res.status).toBe(404);
    expect(ErrorBodySchema.parse(await res.json()).error.code).toBe('not_found');
    expect(removed).toEqual([]);
  });

  it('a failed data removal → 500 internal without details', async () => {
    const { host } = setup({
      removeData: async () => {
        throw new Error("EACCES: permission denied, rmdir '/data/towns/town_doomed01/home'");
      },
    });
    const res = await post(createHostApp(host, KEY), path, { [CONTAINER_KEY_HEADER]: KEY });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('/data/towns');
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'internal error' } });
  });
});
