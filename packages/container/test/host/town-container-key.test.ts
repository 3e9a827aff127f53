/**
 * The container key is per town (containment, point 2): the host keeps the deployment's key for its
 * own API and starts each town's container with only that town's derived key. Town A's key opens
 * neither town B's container (through the host or directly) nor the host's own routes.
 */
import { CONTAINER_KEY_HEADER, deriveTownContainerKey, type AgentRuntimeStatus } from '@gastown/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerHost } from '../../src/host/container-host';
import type { ContainerProcess } from '../../src/host/container-process';
import type { HostConfig } from '../../src/host/host-config';
import { createHostApp } from '../../src/host/host-server';
import { townContainerEnv } from '../../src/host/main';
import type { Logger } from '../../src/log';
import { createControlApp, listen, type RunningServer } from '../../src/server';
import type { AgentControl } from '../../src/supervisor/types';

const DEPLOYMENT_KEY = 'host-deployment-container-key-0123456789';
const TOWN_A = 'town_aaaaaaaa';
const TOWN_B = 'town_bbbbbbbb';
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

const config: HostConfig = {
  port: 0,
  containerKey: DEPLOYMENT_KEY,
  dataDir: '/tmp/gastown-town-key-test',
  defaultSleepAfterMs: 60_000,
  stopGraceMs: 1000,
  passthrough: {},
};

/** A control server with no agents: enough to see which key it accepts. */
const noAgents: AgentControl = {
  start: async () => Promise.reject(new Error('not used')),
  deliver: async () => Promise.reject(new Error('not used')),
  nudge: async () => Promise.reject(new Error('not used')),
  push: () => {
    throw new Error('not used');
  },
  stop: async () => Promise.reject(new Error('not used')),
  status: () => {
    throw new Error('not used');
  },
  list: (): AgentRuntimeStatus[] => [],
  liveCount: () => 0,
  merge: () => {
    throw new Error('not used');
  },
  removeRig: async () => Promise.reject(new Error('not used')),
};

interface World {
  host: RunningServer;
  /** Per town: the env its container was started with, and the container's own server. */
  containers: Map<string, { env: Record<string, string>; server: RunningServer }>;
}

let w: World;

beforeAll(async () => {
  const containers: World['containers'] = new Map();
  const host = new ContainerHost({
    clock: { now: () => Date.now() },
    timers: { setTimeout: () => null, clearTimeout: () => {} },
    logger: silent,
    defaultSleepAfterMs: 60_000,
    stopGraceMs: 1000,
    // what the host's main does, with the real container control server in place of a process
    spawn: async (townId, townEnv): Promise<ContainerProcess> => {
      const env = await townContainerEnv(config, townId, townEnv);
      const server = await listen(
        createControlApp({ control: noAgents, containerKey: env.GASTOWN_CONTAINER_KEY!, instanceId: `ci_${townId}`, startedAt: 0, logger: silent }),
        { port: 0, hostname: '127.0.0.1' },
      );
      containers.set(townId, { env, server });
      return { pid: 1, url: server.url, instanceId: `ci_${townId}`, exited: new Promise(() => {}), stop: async () => {}, kill: () => {} };
    },
  });
  w = { host: await listen(createHostApp(host, DEPLOYMENT_KEY), { port: 0, hostname: '127.0.0.1' }), containers };
});

afterAll(async () => {
  await w?.host.close();
  for (const c of w?.containers.values() ?? []) await c.server.close();
});

async function get(url: string, key: string | null): Promise<{ status: number; code: string | null }> {
  const res = await fetch(url, { headers: key === null ? {} : { [CONTAINER_KEY_HEADER]: key } });
  const body = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
  return { status: res.status, code: body?.error?.code ?? null };
}

const forwarded = (townId: string) => `${w.host.url}/towns/${townId}/container/agents`;

describe('per-town container keys (local container host)', () => {
  it("each town's container is started with its own derived key, never the deployment's", async () => {
    const keyA = await deriveTownContainerKey(DEPLOYMENT_KEY, TOWN_A);
    const keyB = await deriveTownContainerKey(DEPLOYMENT_KEY, TOWN_B);
    expect(await get(forwarded(TOWN_A), keyA)).toEqual({ status: 200, code: null });
    expect(await get(forwarded(TOWN_B), keyB)).toEqual({ status: 200, code: null });
    const envA = w.containers.get(TOWN_A)!.env;
    const envB = w.containers.get(TOWN_B)!.env;
    expect(envA.GASTOWN_CONTAINER_KEY).toBe(keyA);
    expect(envB.GASTOWN_CONTAINER_KEY).toBe(keyB);
    expect(keyA).not.toBe(keyB);
    for (const env of [envA, envB]) expect(JSON.stringify(env)).not.toContain(DEPLOYMENT_KEY);
  });

  it("a request to town B's container with town A's key is refused: 401 container_unauthorized, through the host and directly", async () => {
    const keyA = await deriveTownContainerKey(DEPLOYMENT_KEY, TOWN_A);
    const keyB = await deriveTownContainerKey(DEPLOYMENT_KEY, TOWN_B);
    await get(forwarded(TOWN_B), keyB); // B's container runs
    expect(await get(forwarded(TOWN_B), keyA)).toEqual({ status: 401, code: 'container_unauthorized' });
    const containerB = w.containers.get(TOWN_B)!.server.url;
    expect(await get(`${containerB}/agents`, keyA)).toEqual({ status: 401, code: 'container_unauthorized' });
    expect(await get(`${containerB}/agents`, keyB)).toEqual({ status: 200, code: null });
  });

  it("a town's key does not open the host's own API; the deployment's key does not open a town's container", async () => {
    const keyA = await deriveTownContainerKey(DEPLOYMENT_KEY, TOWN_A);
    expect(await get(`${w.host.url}/towns/${TOWN_B}/state`, keyA)).toEqual({ status: 401, code: 'container_unauthorized' });
    expect(await get(`${w.host.url}/towns/${TOWN_A}/state`, keyA)).toEqual({ status: 401, code: 'container_unauthorized' });
    expect(await get(`${w.host.url}/towns/${TOWN_A}/state`, DEPLOYMENT_KEY)).toMatchObject({ status: 200 });
    expect(await get(forwarded(TOWN_A), DEPLOYMENT_KEY)).toEqual({ status: 401, code: 'container_unauthorized' });
    expect(await get(`${w.containers.get(TOWN_A)!.server.url}/agents`, DEPLOYMENT_KEY)).toEqual({ status: 401, code: 'container_unauthorized' });
  });

  it('a refused forward starts no container', async () => {
    const keyA = await deriveTownContainerKey(DEPLOYMENT_KEY, TOWN_A);
    expect(await get(forwarded('town_cccccccc'), keyA)).toEqual({ status: 401, code: 'container_unauthorized' });
    expect(await get(forwarded('town_cccccccc'), null)).toEqual({ status: 401, code: 'container_unauthorized' });
    expect(w.containers.has('town_cccccccc')).toBe(false);
  });
});
