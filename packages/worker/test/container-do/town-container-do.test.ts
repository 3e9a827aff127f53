/**
 * The production TownContainerDO, run through the harness (support/harness.ts): the real class and
 * @cloudflare/containers 0.3.7 over a fake container runtime. Fake timers drive cold starts, hangs,
 * grace periods and the library's alarm loop.
 */
import { deriveTownContainerKey } from '@gastown/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ControlApiContainerClient } from '../../src/town/container/control-api-client';
import { DurableObjectTransport } from '../../src/town/container/do-transport';
import type { ContainerCall } from '../../src/town/container/container-rpc';
import { env } from 'cloudflare:test';
import { TOWN_ID, withTownContainer, type Harness } from './support/harness';

const AGENT = 'ag_harness00001';
const startCall = (): ContainerCall => ({
  method: 'POST',
  path: '/agents',
  body: { agent: { id: AGENT, townId: TOWN_ID, rigId: null, userId: 'u', role: 'mayor', name: 'mayor', gen: 1 } },
  wake: true,
});
const statusCall: ContainerCall = { method: 'GET', path: `/agents/${AGENT}`, wake: false };

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-04-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Settle a promise while the fake clock runs, `stepMs` at a time, for at most `maxMs`; the ms it took. */
async function settle<T>(promise: Promise<T>, maxMs: number, stepMs = 100): Promise<{ result: PromiseSettledResult<T>; elapsedMs: number }> {
  const started = Date.now();
  let done: PromiseSettledResult<T> | null = null;
  promise.then(
    (value) => (done = { status: 'fulfilled', value }),
    (reason: unknown) => (done = { status: 'rejected', reason }),
  );
  while (!done && Date.now() - started < maxMs) await vi.advanceTimersByTimeAsync(stepMs);
  await vi.advanceTimersByTimeAsync(0);
  if (!done) throw new Error(`still pending after ${maxMs} ms`);
  return { result: done, elapsedMs: Date.now() - started };
}

function codeOfRejection(result: PromiseSettledResult<unknown>): string | undefined {
  if (result.status !== 'rejected') return undefined;
  return (result.reason as { code?: string }).code;
}

/** The client the TownDO uses, over the object's RPC surface. */
const clientOf = (h: Harness) => new ControlApiContainerClient(new DurableObjectTransport(h.rpc, TOWN_ID));

describe('TownContainerDO: boot and calls', () => {
  it("a cold first call boots the container with the town's env, its derived key (never the deployment's) and the passthrough settings", async () => {
    await withTownContainer(async (h) => {
      expect((await h.object.setEnvVars({ LLM_API_KEY: 'sk-town-1' })).ok).toBe(true);
      const { result } = await settle(clientOf(h).start(startCall().body as never), 10_000);
      expect(result.status).toBe('fulfilled');
      const townKey = await deriveTownContainerKey(env.GASTOWN_CONTAINER_KEY ?? '', TOWN_ID);
      expect(h.container.boots.length).toBe(1);
      expect(h.container.bootEnv).toEqual({ GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '30', GASTOWN_CONTAINER_KEY: townKey, TOWN_ENV_LLM_API_KEY: 'sk-town-1' });
      expect(h.container.requests.map((r) => [r.method, r.path, r.key])).toEqual([['POST', '/agents', townKey]]);
    });
  });

  it('wake: false never starts a sleeping container', async () => {
    await withTownContainer(async (h) => {
      expect(await h.object.call(statusCall, TOWN_ID)).toEqual({ running: false });
      expect(await clientOf(h).status(AGENT)).toBeNull();
      expect(h.container.boots).toEqual([]);
    });
  });

  it('a cold start that needs 45 s succeeds (the library alone gives up after ~20 s)', async () => {
    await withTownContainer(async (h) => {
      h.container.behaviour.bootMs = 45_000;
      const { result, elapsedMs } = await settle(h.object.call(startCall(), TOWN_ID), 120_000);
      expect(result).toMatchObject({ status: 'fulfilled', value: { running: true, status: 200 } });
      expect(elapsedMs).toBeGreaterThanOrEqual(45_000);
      expect(elapsedMs).toBeLessThan(50_000);
    });
  });

  it('a container that never listens ends container_unavailable within the readiness limit', async () => {
    await withTownContainer(async (h) => {
      h.container.behaviour.bootMs = 10 * 60_000;
      const { result, elapsedMs } = await settle(h.rpc.call(startCall(), TOWN_ID), 200_000, 500);
      expect(result.status).toBe('rejected');
      expect(elapsedMs).toBeLessThanOrEqual(180_000);
    });
  });
});

describe('TownContainerDO: time limits', () => {
  it('a hung call ends with container_unavailable at its 30 s budget, not before', async () => {
    await withTownContainer(async (h) => {
      await settle(h.object.call(startCall(), TOWN_ID), 10_000);
      h.container.behaviour.hangPaths = [`/agents/${AGENT}`];
      const pending = new DurableObjectTransport(h.rpc, TOWN_ID).call(statusCall);
      const { result, elapsedMs } = await settle(pending, 60_000, 250);
      expect(codeOfRejection(result)).toBe('container_unavailable');
      expect(elapsedMs).toBeGreaterThanOrEqual(30_000);
      expect(elapsedMs).toBeLessThanOrEqual(31_000);
    });
  });

  it('a hung agent start ends with container_unavailable at its 180 s budget', async () => {
    await withTownContainer(async (h) => {
      h.container.behaviour.hangPaths = ['/agents'];
      const { result, elapsedMs } = await settle(clientOf(h).start(startCall().body as never), 300_000, 1_000);
      expect(codeOfRejection(result)).toBe('container_unavailable');
      expect(elapsedMs).toBeGreaterThanOrEqual(180_000);
      expect(elapsedMs).toBeLessThanOrEqual(181_000);
    });
  });
});

describe('TownContainerDO: library failures are container_unavailable (a start failure the town does not blame on the container)', () => {
  it.each([
    {
      name: '503: no container instance (provisioning after a first deploy)',
      set: (h: Harness) => (h.container.behaviour.startError = 'there is no container instance that can be provided to this durable object'),
    },
    {
      name: '429: too many containers per second',
      set: (h: Harness) => (h.container.behaviour.startError = 'you are requesting too many containers per second'),
    },
    { name: '500: failed to start (the runtime refused)', set: (h: Harness) => (h.container.behaviour.startError = 'internal error starting the container') },
    { name: '500: the connection to a running container dropped', set: (h: Harness) => (h.container.behaviour.fetchError = 'Network connection lost.') },
    { name: '500: proxying failed', set: (h: Harness) => (h.container.behaviour.fetchError = 'socket hang up') },
  ])('$name', async ({ set }) => {
    await withTownContainer(async (h) => {
      set(h);
      const { result } = await settle(clientOf(h).start(startCall().body as never), 200_000, 500);
      expect(codeOfRejection(result)).toBe('container_unavailable');
    });
  });

  it("the container's own error answers pass through (a 500 of the container is its refusal, not the library's)", async () => {
    await withTownContainer(async (h) => {
      h.container.behaviour.answers['/agents'] = () => Response.json({ error: { code: 'internal', message: 'runtime crashed' } }, { status: 500 });
      const { result } = await settle(clientOf(h).start(startCall().body as never), 10_000);
      expect(codeOfRejection(result)).toBe('upstream_failed');
    });
  });
});

describe('TownContainerDO: restart, sleep, stop', () => {
  it('restart: SIGTERM to a running container, SIGKILL when it ignores it for the grace period; the next call boots with the new env', async () => {
    await withTownContainer(async (h) => {
      await settle(h.object.call(startCall(), TOWN_ID), 10_000);
      await h.object.setEnvVars({ LLM_API_KEY: 'sk-fixed' });
      h.container.behaviour.drainMs = null; // ignores SIGTERM
      expect(await new DurableObjectTransport(h.rpc, TOWN_ID).restart()).toEqual({ wasRunning: true });
      expect(h.container.signals).toEqual([15]);
      expect(h.container.running).toBe(true);
      // the library's alarm loop runs the SIGKILL schedule once the grace period is over
      await vi.advanceTimersByTimeAsync(26_000);
      await settle(h.object.alarm(), 200_000, 1_000);
      expect(h.container.destroyed).toBe(1);
      expect(h.container.running).toBe(false);
      await settle(h.object.call(startCall(), TOWN_ID), 10_000);
      expect(h.container.boots.length).toBe(2);
      expect(h.container.bootEnv.TOWN_ENV_LLM_API_KEY).toBe('sk-fixed');
    });
  });

  it('restart of a sleeping container: wasRunning false, nothing started', async () => {
    await withTownContainer(async (h) => {
      expect(await new DurableObjectTransport(h.rpc, TOWN_ID).restart()).toEqual({ wasRunning: false });
      expect(h.container.boots).toEqual([]);
      expect(h.container.signals).toEqual([]);
    });
  });

  it('a container that drains within the grace period is not killed', async () => {
    await withTownContainer(async (h) => {
      await settle(h.object.call(startCall(), TOWN_ID), 10_000);
      h.container.behaviour.drainMs = 5_000;
      await h.object.restart();
      await vi.advanceTimersByTimeAsync(26_000);
      await settle(h.object.alarm(), 200_000, 1_000);
      expect(h.container.running).toBe(false);
      expect(h.container.destroyed).toBe(0);
    });
  });

  it('a shorter sleepAfter is re-armed at once: the alarm is moved up and the container sleeps by the new window', async () => {
    await withTownContainer(async (h) => {
      await settle(h.object.call(startCall(), TOWN_ID), 10_000);
      expect((await h.object.configure({ sleepAfterSeconds: 60 })).ok).toBe(true);
      expect(h.alarmAt()).toBeLessThanOrEqual(Date.now() + 1_000);
      await vi.advanceTimersByTimeAsync(61_000);
      await settle(h.object.alarm(), 200_000, 1_000);
      expect(h.container.signals).toEqual([15]);
    });
  });

  it('keep-awake renews the window of a running container and never starts a sleeping one', async () => {
    await withTownContainer(async (h) => {
      expect(await h.object.keepAwake()).toBe(false);
      expect(h.container.boots).toEqual([]);
      await h.object.configure({ sleepAfterSeconds: 60 });
      await settle(h.object.call(startCall(), TOWN_ID), 10_000);
      await vi.advanceTimersByTimeAsync(45_000);
      expect(await h.object.keepAwake()).toBe(true);
      await vi.advanceTimersByTimeAsync(45_000);
      await settle(h.object.alarm(), 200_000, 1_000);
      expect(h.container.signals).toEqual([]); // 90 s since the start, 45 s since the renewal
    });
  });

  it('a crash tells the town at once (onStop), not after missed heartbeats', async () => {
    await withTownContainer(async (h) => {
      await settle(h.object.call(startCall(), TOWN_ID), 10_000);
      h.container.crash(137);
      await settle(h.object.alarm(), 10_000);
      expect(h.stopNotices).toEqual([{ exitCode: 137, reason: 'exit', stoppedAt: expect.any(Number) }]);
    });
  });
});
