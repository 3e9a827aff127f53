/**
 * The container's sandbox: decided once at start (probe → level), then one lease per agent run.
 *
 *   const sandbox = await createSandbox({ mode: config.sandbox.mode, uidBase, uidCount, rootDir: config.dataDir, logger });
 *   createRuntimeFactory({ …, sandbox });      // every runtime leases from it
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { GastownError } from '@gastown/protocol';
import type { Logger, Timers } from '../contracts';
import type { SystemMount } from './bwrap-args';
import { decideIsolation, usesNamespaces, usesOwnUid, type IsolationLevel, type SandboxMode, type SandboxProbe } from './isolation';
import { hostSystemMounts, probeSandbox } from './probe';
import { homeIsBelow, pidsOfUid, signalPids, uidsWithProcesses } from './proc-table';
import { IsolatedLease, NoSandboxLease, type LeaseContext, type LeaseRequest, type SandboxLease } from './sandbox-lease';
import { UidPool } from './uid-pool';

export interface Sandbox {
  readonly level: IsolationLevel;
  /** Lease isolation for one agent run; throws SandboxError (wire code container_unavailable). */
  acquire(request: LeaseRequest): Promise<SandboxLease>;
}

/** Agents run as the container's uid, unconfined (the default when no sandbox is wired). */
export const NO_SANDBOX: Sandbox = {
  level: 'none',
  acquire: async () => new NoSandboxLease(),
};

export interface SandboxOptions {
  level: IsolationLevel;
  /** The container data dir: agents' paths lie below it; it is never visible whole. */
  rootDir: string;
  uidBase: number;
  uidCount: number;
  bwrapPath: string | null;
  logger: Logger;
  timers?: Timers;
  /** Host system paths (default: probed from the filesystem). */
  system?: SystemMount[];
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class IsolatingSandbox implements Sandbox {
  readonly level: IsolationLevel;
  readonly #ctx: LeaseContext;

  constructor(options: SandboxOptions) {
    this.level = options.level;
    const rootDir = resolve(options.rootDir);
    if (usesNamespaces(options.level) && !options.bwrapPath) throw new GastownError('config_invalid', `sandbox level ${options.level} needs bwrap`);
    const ownerUid = process.getuid?.() ?? 0;
    if (usesOwnUid(options.level) && ownerUid !== 0)
      throw new GastownError('config_invalid', `sandbox level ${options.level} needs the container to run as root`);
    this.#ctx = {
      level: options.level,
      rootDir,
      ownerUid,
      ownerGid: process.getgid?.() ?? 0,
      pool: usesOwnUid(options.level) ? new UidPool(options.uidBase, options.uidCount) : null,
      // the real path: it is how a bwrap process shows in /proc/<pid>/exe
      bwrapPath: options.bwrapPath === null ? null : realpathSync(options.bwrapPath),
      system: options.system ?? hostSystemMounts(),
      timers: options.timers ?? realTimers,
      logger: options.logger,
    };
  }

  /** uids of the pool currently leased (for status and tests). */
  get leasedUids(): number {
    return this.#ctx.pool?.leasedCount ?? 0;
  }

  acquire(request: LeaseRequest): Promise<SandboxLease> {
    if (this.level === 'none') return Promise.resolve(new NoSandboxLease());
    return IsolatedLease.open(this.#ctx, request);
  }
}

export interface CreateSandboxOptions {
  mode: SandboxMode;
  uidBase: number;
  uidCount: number;
  /** The container data dir (created when missing; must have no symlink in its path). */
  rootDir: string;
  logger: Logger;
  timers?: Timers;
  /** Inject the probe result (tests); probed from this machine when omitted. */
  probe?: SandboxProbe;
}

/**
 * Probe, decide the level (GASTOWN_SANDBOX), log it — a warning whenever agents are not fully
 * isolated — and kill processes a previous control server left under pool uids.
 */
export async function createSandbox(options: CreateSandboxOptions): Promise<Sandbox> {
  const log = options.logger.child({ component: 'sandbox' });
  const probe = options.probe ?? (await probeSandbox({ poolUid: options.uidBase }));
  const { level, gaps } = decideIsolation(options.mode, probe);
  if (level === 'none') {
    log.warn('sandbox.disabled', {
      mode: options.mode,
      level,
      gaps,
      risk: 'agents run as the container uid without namespaces: one shell command can read the broker credentials from /proc',
    });
    return NO_SANDBOX;
  }

  const rootDir = resolve(options.rootDir);
  mkdirSync(rootDir, { recursive: true });
  if (realpathSync(rootDir) !== rootDir)
    throw new GastownError('config_invalid', `the data dir ${rootDir} must not have a symlink in its path (the sandbox binds exact paths)`);
  const sandbox = new IsolatingSandbox({
    level,
    rootDir,
    uidBase: options.uidBase,
    uidCount: options.uidCount,
    bwrapPath: probe.bwrapPath,
    logger: options.logger,
    ...(options.timers ? { timers: options.timers } : {}),
  });

  if (usesOwnUid(level)) {
    // only this data dir's agents: another container on the same machine (the local host runs
    // one per town) may use the same uids, and its agents are not ours to kill
    const leftovers = [...uidsWithProcesses(options.uidBase, options.uidCount)]
      .flatMap((uid) => pidsOfUid(uid))
      .filter((pid) => homeIsBelow(pid, options.rootDir));
    if (leftovers.length > 0) {
      log.warn('sandbox.orphans_killed', { pids: leftovers });
      signalPids(leftovers, 'SIGKILL');
    }
  }
  if (gaps.length > 0) log.warn('sandbox.degraded', { mode: options.mode, level, gaps });
  else log.info('sandbox.ready', { mode: options.mode, level, uidBase: options.uidBase, uidCount: options.uidCount });
  return sandbox;
}
