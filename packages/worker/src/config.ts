import { systemClock } from '@gastown/protocol';
import { cryptoRandomBytes, loadAuthConfig } from './auth';
import { directoryFromEnv } from './http/directory';
import type { AppDeps } from './http/types';
import { containerClientFactoryFromEnv } from './town/container/client-factory';
import { createIdFactory } from './town/ids';
import { loadTownSettings } from './town/town-settings';

export const EVENT_STREAM_POLL_MS = 1000;
export const EVENT_STREAM_MAX_MS = 5 * 60_000;

/** Parse the env once (fail fast on bad config) into the app's dependencies. */
export function loadAppDeps(env: Env): AppDeps {
  // the TownDO parses these too; a bad value should stop the Worker at startup, not its first dispatch
  loadTownSettings(env as unknown as Record<string, unknown>);
  containerClientFactoryFromEnv(env);
  return {
    auth: loadAuthConfig(env as unknown as Record<string, unknown>),
    clock: systemClock,
    ids: createIdFactory(cryptoRandomBytes),
    logger: console,
    directory: directoryFromEnv(env),
    eventStreamPollMs: EVENT_STREAM_POLL_MS,
    eventStreamMaxMs: EVENT_STREAM_MAX_MS,
  };
}
