/**
 * The RuntimeFactory the supervisor uses. Each kind's binary is resolved once per factory, on
 * first use, so a missing kilo binary fails the kilo agents (typed error) and nothing else.
 */
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock, type Clock, type RuntimeKind } from '@gastown/protocol';
import type { RuntimeFactory, SecretSink, Timers } from '../contracts';
import type { Sandbox } from '../sandbox/sandbox';
import { resolveRuntimeBinary } from './binary';
import { FLAVORS } from './flavor';
import { ServeRuntime } from './serve-runtime';

export interface RuntimeFactoryOptions {
  /** Explicit binary per kind (skips the node_modules search). */
  binaries?: Partial<Record<RuntimeKind, string>>;
  /** Directory the node_modules search starts from. Default: this package. */
  resolveFrom?: string;
  /** The container's environment; only an allow-list is passed to agents. Default process.env. */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  timers?: Timers;
  generateSecret?: () => string;
  /** Spawn → listening → event stream → session. Default 60 000 (a fresh HOME takes ~3.5 s, a loaded machine more). */
  startTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace. Default 5 000. */
  stopGraceMs?: number;
  /** Timeout of one request to the runtime server. Default 30 000. */
  requestTimeoutMs?: number;
  /** Where the server password is registered for log redaction. */
  secrets?: SecretSink;
  /** Isolation of each run (createSandbox at container start). Default: none. */
  sandbox?: Sandbox;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export function createRuntimeFactory(options: RuntimeFactoryOptions = {}): RuntimeFactory {
  const resolveFrom = options.resolveFrom ?? dirname(fileURLToPath(import.meta.url));
  const resolved = new Map<RuntimeKind, string>();
  const binaryFor = (kind: RuntimeKind) => () => {
    const known = resolved.get(kind) ?? options.binaries?.[kind];
    if (known) return known;
    const path = resolveRuntimeBinary(FLAVORS[kind], { resolveFrom });
    resolved.set(kind, path);
    return path;
  };
  return (runtimeOptions) =>
    new ServeRuntime(runtimeOptions, {
      flavor: FLAVORS[runtimeOptions.kind],
      binary: binaryFor(runtimeOptions.kind),
      clock: options.clock ?? systemClock,
      timers: options.timers ?? realTimers,
      generateSecret: options.generateSecret ?? (() => randomBytes(24).toString('base64url')),
      baseEnv: options.baseEnv ?? process.env,
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      stopGraceMs: options.stopGraceMs ?? 5_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      ...(options.secrets ? { secrets: options.secrets } : {}),
      ...(options.sandbox ? { sandbox: options.sandbox } : {}),
    });
}
