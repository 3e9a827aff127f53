/**
 * Runs the production TownContainerDO (the real class, the real @cloudflare/containers 0.3.7 it
 * extends) in the workers pool: constructed with a fake container context — `ctx.container` is a
 * FakeContainerRuntime, storage is a real SQLite Durable Object storage (a RegistryDO instance's,
 * under a fresh name per test) with its alarm captured instead of armed; the rest of the state is
 * that object's own. The whole test runs inside that object (runInDurableObject), so the library's
 * storage calls are real. The town (`env.TOWN`) is a recorder of `containerStopped` notices.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { TownContainerDO } from '../../../src/town/container/town-container-do';
import type { ContainerStoppedNotice } from '../../../src/town/container/container-rpc';
import type { TownContainerRpc } from '../../../src/town/container/do-transport';
import { CONTAINER_LIMITS, type ContainerLimits } from '../../../src/town/container/container-limits';
import { FakeContainerRuntime } from './fake-container-runtime';

export const TOWN_ID = 'town_harness0001';

export interface Harness {
  object: TownContainerDO;
  container: FakeContainerRuntime;
  /** The alarm the library last set (ms), null when deleted. */
  alarmAt(): number | null;
  /** Town notices sent by onStop. */
  stopNotices: ContainerStoppedNotice[];
  /** The object as the TownDO reaches it over RPC: a thrown error keeps only its message. */
  rpc: TownContainerRpc;
}

let counter = 0;

export async function withTownContainer<T>(
  test: (h: Harness) => Promise<T>,
  options: { limits?: ContainerLimits; before?: (container: FakeContainerRuntime, storage: DurableObjectStorage) => void } = {},
): Promise<T> {
  const stub = env.REGISTRY.get(env.REGISTRY.idFromName(`container-harness-${Date.now()}-${++counter}`));
  return runInDurableObject(stub, async (_instance, state) => {
    const container = new FakeContainerRuntime();
    let alarm: number | null = null;
    const storage = new Proxy(state.storage, {
      get(target, prop) {
        if (prop === 'setAlarm') return async (at: number | Date) => void (alarm = typeof at === 'number' ? at : at.getTime());
        if (prop === 'deleteAlarm') return async () => void (alarm = null);
        if (prop === 'getAlarm') return async () => alarm;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    options.before?.(container, state.storage);
    const stopNotices: ContainerStoppedNotice[] = [];
    const town = { containerStopped: async (notice: ContainerStoppedNotice) => void stopNotices.push(notice) };
    const towns = { idFromName: (name: string) => name, get: () => town };
    // the real DurableObjectState (workerd's DurableObject base checks its type), given the fake
    // container and the alarm-capturing storage as own properties; blockConcurrencyWhile stays real
    Object.defineProperty(state, 'container', { value: container, configurable: true });
    Object.defineProperty(state, 'storage', { value: storage, configurable: true });
    const ctx = state;
    const object = new TownContainerDO(ctx as unknown as DurableObjectState<{}>, { ...env, TOWN: towns } as unknown as Env, options.limits ?? CONTAINER_LIMITS);
    // the constructor's blockConcurrencyWhile (first alarm, activity timeout) runs a microtask later
    await Promise.resolve();
    await Promise.resolve();
    const rpc: TownContainerRpc = {
      call: (req, townId) => rpcBoundary(() => object.call(req, townId)),
      setEnvVars: (vars) => object.setEnvVars(vars),
      configure: (patch) => object.configure(patch),
      keepAwake: () => rpcBoundary(() => object.keepAwake()),
      restart: () => object.restart(),
      destroyTown: () => object.destroyTown(),
    };
    return test({ object, container, alarmAt: () => alarm, stopNotices, rpc });
  });
}

/** Workers RPC keeps only the message of a thrown error (the class and `code` are lost). */
async function rpcBoundary<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(err instanceof Error ? err.message : String(err));
  }
}
