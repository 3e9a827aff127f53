import { describe, expect, it, vi } from 'vitest';
import { ContainerHost } from '../../src/host/container-host';
import type { ContainerProcess } from '../../src/host/container-process';
import type { Logger } from '../../src/log';
import type { Timers } from '../../src/timers';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

interface FakeProcess extends ContainerProcess {
  stopped: boolean;
  crash(): void;
}

function fakeProcess(instanceId: string): FakeProcess {
  let exit!: (v: { code: number | null; signal: string | null }) => void;
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => (exit = r));
  const proc: FakeProcess = {
    pid: 1000,
    url: 'http://127.0.0.1:1',
    instanceId,
    exited,
    stopped: false,
    async stop() {
      proc.stopped = true;
      exit({ code: 0, signal: null });
    },
    kill() {
      exit({ code: null, signal: 'SIGKILL' });
    },
    crash() {
      exit({ code: 1, signal: null });
    },
  };
  return proc;
}

function setup(sleepAfterMs = 20_000) {
  vi.useFakeTimers({ now: 0 });
  const timers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
  const spawned: FakeProcess[] = [];
  const spawnEnv: Array<Record<string, string>> = [];
  const host = new ContainerHost({
    clock: { now: () => Date.now() },
    timers,
    logger: silent,
    defaultSleepAfterMs: sleepAfterMs,
    stopGraceMs: 1000,
    spawn: async (_townId, env) => {
      spawnEnv.push(env);
      const p = fakeProcess(`ci_${spawned.length + 1}`);
      spawned.push(p);
      return p;
    },
  });
  return { host, spawned, spawnEnv };
}

describe('ContainerHost', () => {
  it('starts one container per town on the first inbound request, and reuses it', async () => {
    const { host, spawned } = setup();
    const [a, b] = await Promise.all([host.acquire('town_aaaaaaaa', 'POST', '/agents'), host.acquire('town_aaaaaaaa', 'GET', '/agents')]);
    host.release('town_aaaaaaaa');
    host.release('town_aaaaaaaa');
    expect(a).toBe(b);
    expect(spawned).toHaveLength(1);
    await host.acquire('town_bbbbbbbb', 'GET', '/health');
    expect(spawned).toHaveLength(2);
    vi.useRealTimers();
  });

  it('sleeps after sleepAfter without inbound requests, and not before', async () => {
    const { host, spawned } = setup(20_000);
    await host.acquire('town_aaaaaaaa', 'POST', '/agents');
    host.release('town_aaaaaaaa');
    await vi.advanceTimersByTimeAsync(19_000);
    expect(host.state('town_aaaaaaaa').running).toBe(true);
    // an inbound request resets the clock
    await host.acquire('town_aaaaaaaa', 'GET', '/agents');
    host.release('town_aaaaaaaa');
    await vi.advanceTimersByTimeAsync(19_000);
    expect(host.state('town_aaaaaaaa').running).toBe(true);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(host.state('town_aaaaaaaa').running).toBe(false);
    expect(spawned[0]!.stopped).toBe(true);
    expect(host.state('town_aaaaaaaa').sleeps).toBe(1);
    vi.useRealTimers();
  });

  it('keepAwake restarts the sleep window of a running container without an inbound request, and never starts a sleeping one', async () => {
    const { host, spawned } = setup(20_000);
    expect(host.keepAwake('town_aaaaaaaa')).toBe(false);
    expect(spawned).toHaveLength(0);
    await host.acquire('town_aaaaaaaa', 'POST', '/agents');
    host.release('town_aaaaaaaa');
    for (let i = 0; i < 5; i += 1) {
      await vi.advanceTimersByTimeAsync(15_000);
      expect(host.keepAwake('town_aaaaaaaa')).toBe(true);
    }
    // 75 s after the last inbound request, still awake; the keep-awakes are not inbound requests
    const state = host.state('town_aaaaaaaa');
    expect(state).toMatchObject({ running: true, sleeps: 0, keepAwakes: 5 });
    expect(state.inbound).toHaveLength(1);
    // once nobody keeps it awake, it sleeps sleepAfter after the last renewal
    await vi.advanceTimersByTimeAsync(19_000);
    expect(host.state('town_aaaaaaaa').running).toBe(true);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(host.state('town_aaaaaaaa')).toMatchObject({ running: false, sleeps: 1 });
    expect(host.keepAwake('town_aaaaaaaa')).toBe(false);
    expect(spawned).toHaveLength(1);
    vi.useRealTimers();
  });

  it('never sleeps while a request is in flight', async () => {
    const { host } = setup(1_000);
    await host.acquire('town_aaaaaaaa', 'POST', '/agents/x/messages');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(host.state('town_aaaaaaaa').running).toBe(true);
    host.release('town_aaaaaaaa');
    await vi.advanceTimersByTimeAsync(1_100);
    expect(host.state('town_aaaaaaaa').running).toBe(false);
    vi.useRealTimers();
  });

  it('wakes with a new instance id and the latest env vars', async () => {
    const { host, spawnEnv } = setup(1_000);
    host.configure('town_aaaaaaaa', { envVars: { OPENAI_API_KEY: 'k1' } });
    const first = await host.acquire('town_aaaaaaaa', 'GET', '/health');
    host.release('town_aaaaaaaa');
    await vi.advanceTimersByTimeAsync(1_100);
    host.configure('town_aaaaaaaa', { envVars: { OPENAI_API_KEY: 'k2' } });
    const second = await host.acquire('town_aaaaaaaa', 'GET', '/health');
    host.release('town_aaaaaaaa');
    expect(second.instanceId).not.toBe(first.instanceId);
    expect(spawnEnv.map((e) => e.OPENAI_API_KEY)).toEqual(['k1', 'k2']);
    expect(host.state('town_aaaaaaaa').starts).toBe(2);
    vi.useRealTimers();
  });

  it('forgets a crashed container so the next request starts a new one', async () => {
    const { host, spawned } = setup();
    await host.acquire('town_aaaaaaaa', 'GET', '/health');
    host.release('town_aaaaaaaa');
    spawned[0]!.crash();
    await vi.advanceTimersByTimeAsync(1);
    expect(host.state('town_aaaaaaaa').running).toBe(false);
    const next = await host.acquire('town_aaaaaaaa', 'GET', '/health');
    expect(next.instanceId).toBe('ci_2');
    vi.useRealTimers();
  });
});
