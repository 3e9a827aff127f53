import { systemClock } from '@gastown/protocol';
import { cryptoRandomBytes, loadAuthConfig, type AuthConfig } from './auth';
import { directoryFromEnv } from './http/directory';
import type { AppDeps } from './http/types';
import { r2SnapshotStore } from './sessions/snapshot-store';
import { containerClientFactoryFromEnv } from './town/container/client-factory';
import type { ContainerClientFactory } from './town/container-client';
import { createIdFactory } from './town/ids';
import { loadTownSettings, type TownSettings } from './town/town-settings';

export const EVENT_STREAM_POLL_MS = 1000;
export const EVENT_STREAM_MAX_MS = 5 * 60_000;
export const EVENT_STREAM_MAX_PER_USER = 10;

/** Every setting the Worker and its TownDOs read from the env, parsed and validated (defaults resolved by each loader). */
export interface WorkerConfig {
  auth: AuthConfig;
  /** Dispatch and reconciler settings (town-settings.ts). */
  town: TownSettings;
  /** The container runtime, chosen from configuration alone (container/client-factory.ts). */
  containerClientFactory: ContainerClientFactory;
}

const configs = new WeakMap<object, WorkerConfig>();

/**
 * Parse the whole env once per env object; a bad value throws GastownError `config_invalid`
 * naming the variable (fail fast). The Worker entry and the TownDO both start here, so a bad
 * town setting stops the Worker at startup, not at its first dispatch, and an isolate that
 * hands both the same env parses it once.
 */
export function loadWorkerConfig(env: Env): WorkerConfig {
  let config = configs.get(env);
  if (!config) {
    const vars = env as unknown as Record<string, unknown>;
    config = Object.freeze({
      auth: loadAuthConfig(vars),
      town: Object.freeze(loadTownSettings(vars)),
      containerClientFactory: containerClientFactoryFromEnv(env),
    });
    configs.set(env, config);
  }
  return config;
}

/** The Hono app's dependencies, from the parsed config. */
export function loadAppDeps(env: Env, config: WorkerConfig = loadWorkerConfig(env)): AppDeps {
  return {
    auth: config.auth,
    clock: systemClock,
    ids: createIdFactory(cryptoRandomBytes),
    logger: console,
    directory: directoryFromEnv(env),
    sessions: r2SnapshotStore(env.SESSIONS, console),
    eventStreamPollMs: EVENT_STREAM_POLL_MS,
    eventStreamMaxMs: EVENT_STREAM_MAX_MS,
    eventStreamMaxPerUser: EVENT_STREAM_MAX_PER_USER,
  };
}
