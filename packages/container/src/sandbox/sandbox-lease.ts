/**
 * One agent run's hold on the sandbox: its uid from the pool, its paths handed to that uid,
 * how to spawn inside bwrap, and the release that sweeps every process of the uid before the
 * uid can go back to the pool.
 */
import { lstatSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { Logger, Timers } from '../contracts';
import { buildBwrapArgs, isWithin, type SystemMount } from './bwrap-args';
import { SandboxError } from './errors';
import { usesNamespaces, usesOwnUid, type IsolationLevel } from './isolation';
import { assertReadableByOthers, chownTree, secureAncestors, setOwnerAndMode } from './ownership';
import { exeOf, pidsOfUid, rssBytesOfUid, signalPids, uidsWithProcesses } from './proc-table';
import { rigMirrorOf } from './rig-mirror';
import type { UidPool } from './uid-pool';

export interface LeaseRequest {
  agentId: string;
  /** The agent's rig (null for a mayor): its mirror is visible read-only, as its repository's `origin`. */
  rigId: string | null;
  /** The agent's state dir (never visible whole); home, tmpDir and privateFiles lie below it. */
  stateDir: string;
  home: string;
  tmpDir: string;
  /** Scratch dir or the agent's own repository (a polecat's worktree dir, a refinery's clone). */
  workdir: string;
  /** Files below the state dir the agent reads (its instructions): given to its uid, read-only in its view. */
  privateFiles: string[];
  /** Container files the agent executes or reads (runtime binary, plugin bundle): read-only in its view. */
  toolchain: string[];
}

/** How to spawn a command inside the lease: pass file/args/cwd and uid/gid to child_process.spawn. */
export interface SpawnPlan {
  file: string;
  args: string[];
  cwd: string;
  uid?: number;
  gid?: number;
}

export interface SandboxLease {
  readonly level: IsolationLevel;
  /** The agent's own uid, or null when it runs as the container's uid. */
  readonly uid: number | null;
  plan(command: string, args: string[], cwd: string): SpawnPlan;
  /**
   * Ask the agent to stop: `signal` to every process of its uid except bwrap's own (which would
   * tear the sandbox down with SIGKILL at once). False when the lease cannot (no uid, or no
   * bwrap): signal the process group instead.
   */
  terminate(signal: NodeJS.Signals): boolean;
  /** Summed resident memory of every process of the agent's uid; null without a uid. */
  rssBytes(): number | null;
  /** Kill every process of the uid, take the paths back, return the uid. Idempotent. */
  release(): Promise<{ survivors: number[] }>;
}

/** What the Sandbox shares with each lease. */
export interface LeaseContext {
  level: IsolationLevel;
  rootDir: string;
  /** The container's own uid and gid (root's, at the uid levels). */
  ownerUid: number;
  ownerGid: number;
  pool: UidPool | null;
  bwrapPath: string | null;
  system: SystemMount[];
  timers: Timers;
  logger: Logger;
}

/** Where an agent with only a uid (no namespaces) can leave files other runs of that uid would see. */
const SHARED_TMP_DIRS = ['/tmp', '/var/tmp', '/dev/shm'];
const SWEEP_INTERVAL_MS = 20;
const SWEEP_BUDGET_MS = 5_000;

/** The dir to bind for a toolchain path: its npm package dir when it lives in node_modules, else the path. */
export function toolchainRoot(path: string): string {
  const parts = path.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return path;
  const take = parts[at + 1]!.startsWith('@') ? 3 : 2;
  return parts.slice(0, Math.min(parts.length, at + take)).join(sep);
}

/** The dir holding the node_modules a toolchain path lives in (a repo checkout: never visible whole). */
function checkoutOf(path: string): string | null {
  const parts = path.split(sep);
  const at = parts.indexOf('node_modules');
  return at > 1 ? parts.slice(0, at).join(sep) : null;
}

function exactPath(path: string, what: string): string {
  const abs = resolve(path);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (error) {
    throw new SandboxError('sandbox_prepare_failed', `${what} ${abs} does not exist`, { cause: error });
  }
  if (real !== abs) throw new SandboxError('sandbox_prepare_failed', `${what} ${abs} has a symlink in its path`);
  return abs;
}

function realPath(path: string, what: string): string {
  try {
    return realpathSync(resolve(path));
  } catch (error) {
    throw new SandboxError('sandbox_prepare_failed', `${what} ${path} does not exist`, { cause: error });
  }
}

export class NoSandboxLease implements SandboxLease {
  readonly level = 'none' as const;
  readonly uid = null;
  plan(command: string, args: string[], cwd: string): SpawnPlan {
    return { file: command, args, cwd };
  }
  terminate(): boolean {
    return false;
  }
  rssBytes(): null {
    return null;
  }
  async release(): Promise<{ survivors: number[] }> {
    return { survivors: [] };
  }
}

export class IsolatedLease implements SandboxLease {
  readonly level: IsolationLevel;
  readonly uid: number | null;
  readonly #ctx: LeaseContext;
  readonly #request: LeaseRequest;
  readonly #log: Logger;
  #mirror: string | null = null;
  #released: Promise<{ survivors: number[] }> | null = null;

  private constructor(ctx: LeaseContext, request: LeaseRequest, uid: number | null) {
    this.#ctx = ctx;
    this.level = ctx.level;
    this.#request = request;
    this.uid = uid;
    this.#log = ctx.logger.child({ component: 'sandbox', agentId: request.agentId, uid });
  }

  /** Lease a uid (uid levels), hand the agent's paths to it and work out its view. */
  static async open(ctx: LeaseContext, input: LeaseRequest): Promise<IsolatedLease> {
    const request: LeaseRequest = {
      ...input,
      stateDir: exactPath(input.stateDir, 'the state dir'),
      home: exactPath(input.home, 'the home dir'),
      tmpDir: exactPath(input.tmpDir, 'the tmp dir'),
      workdir: exactPath(input.workdir, 'the workdir'),
      privateFiles: input.privateFiles.map((file) => exactPath(file, 'the file')),
      toolchain: input.toolchain.map((file) => realPath(file, 'the toolchain file')),
    };
    const uid = usesOwnUid(ctx.level) ? ctx.pool!.acquire(busyUids(ctx.pool!)) : null;
    const lease = new IsolatedLease(ctx, request, uid);
    try {
      lease.#prepare();
    } catch (error) {
      await lease.release();
      throw error instanceof SandboxError
        ? error
        : new SandboxError('sandbox_prepare_failed', `could not prepare the sandbox: ${error instanceof Error ? error.message : 'error'}`, { cause: error });
    }
    lease.#log.info('sandbox.leased', { level: lease.level, mirror: lease.#mirror !== null });
    return lease;
  }

  #prepare(): void {
    const { rootDir, ownerUid } = this.#ctx;
    const r = this.#request;
    for (const [what, path] of [
      ['state dir', r.stateDir],
      ['home', r.home],
      ['tmp dir', r.tmpDir],
      ['workdir', r.workdir],
      ...r.privateFiles.map((f) => ['file', f]),
    ] as const) {
      if (path === rootDir || !isWithin(path, rootDir))
        throw new SandboxError('sandbox_prepare_failed', `the agent's ${what} ${path} is not inside the data dir ${rootDir}`);
    }
    for (const path of [r.home, r.tmpDir, r.privateFiles].flat()) {
      if (!isWithin(path, r.stateDir) || path === r.stateDir) throw new SandboxError('sandbox_prepare_failed', `${path} is not inside the agent's state dir`);
    }
    this.#mirror = rigMirrorOf(rootDir, r.rigId, ownerUid);
    if (this.uid === null) return;

    // each agent uid is its own group too (gid = uid): nothing is shared through a group
    const uid = this.uid;
    for (const path of [r.home, r.tmpDir, r.workdir, ...r.privateFiles]) secureAncestors(path, rootDir, ownerUid);
    // the mirror stays root's (0755 inside): reachable, so the agent can fetch from its origin
    if (this.#mirror) secureAncestors(this.#mirror, rootDir, ownerUid);
    chownTree(r.home, uid, uid, 0o700);
    chownTree(r.tmpDir, uid, uid, 0o700);
    chownTree(r.workdir, uid, uid, 0o700);
    for (const file of r.privateFiles) chownTree(file, uid, uid, 0o600);
    for (const path of r.toolchain) assertReadableByOthers(path);
  }

  plan(command: string, args: string[], cwd: string): SpawnPlan {
    const ids = this.uid === null ? {} : { uid: this.uid, gid: this.uid };
    if (!usesNamespaces(this.level)) return { file: command, args, cwd, ...ids };
    const r = this.#request;
    const bwrapArgs = buildBwrapArgs({
      unprivileged: this.uid !== null || this.#ctx.ownerUid !== 0,
      system: this.#ctx.system,
      readOnly: [...r.toolchain.map(toolchainRoot), ...r.privateFiles, ...(this.#mirror ? [this.#mirror] : [])],
      readWrite: [r.home, r.tmpDir, r.workdir],
      forbidden: [this.#ctx.rootDir, r.stateDir, ...r.toolchain.map(checkoutOf).filter((dir): dir is string => dir !== null)],
      hostname: 'gastown-agent',
      chdir: cwd,
      command: realpathSync(command),
      args,
    });
    return { file: this.#ctx.bwrapPath!, args: bwrapArgs, cwd: '/', ...ids };
  }

  terminate(signal: NodeJS.Signals): boolean {
    if (this.uid === null || !usesNamespaces(this.level) || !this.#ctx.bwrapPath) return false;
    const bwrap = this.#ctx.bwrapPath;
    const payload = pidsOfUid(this.uid).filter((pid) => exeOf(pid) !== bwrap);
    if (payload.length === 0) return false;
    signalPids(payload, signal);
    return true;
  }

  rssBytes(): number | null {
    return this.uid === null ? null : rssBytesOfUid(this.uid);
  }

  release(): Promise<{ survivors: number[] }> {
    this.#released ??= this.#release();
    return this.#released;
  }

  async #release(): Promise<{ survivors: number[] }> {
    const uid = this.uid;
    if (uid === null) return { survivors: [] };
    const survivors = await this.#sweep(uid);
    if (survivors.length > 0) this.#log.error('sandbox.uid_survivors', { survivors });
    this.#park();
    if (!usesNamespaces(this.level)) removeEntriesOwnedBy(uid, SHARED_TMP_DIRS, this.#log);
    // a survivor keeps the uid out of the pool through the busy scan at the next acquire
    this.#ctx.pool!.release(uid);
    this.#log.info('sandbox.released', { survivors: survivors.length });
    return { survivors };
  }

  /** SIGKILL every process of the uid until none is left (or the budget is spent). */
  async #sweep(uid: number): Promise<number[]> {
    let left = pidsOfUid(uid);
    for (let spent = 0; left.length > 0 && spent < SWEEP_BUDGET_MS; spent += SWEEP_INTERVAL_MS) {
      signalPids(left, 'SIGKILL');
      await new Promise<void>((resolveSleep) => this.#ctx.timers.setTimeout(resolveSleep, SWEEP_INTERVAL_MS));
      left = pidsOfUid(uid);
    }
    return left;
  }

  /** Take the top of every handed-over path back (root 0700), so a later holder of the uid cannot enter. */
  #park(): void {
    const { ownerUid, ownerGid } = this.#ctx;
    const r = this.#request;
    const parks: Array<[string, number, boolean]> = [
      [r.home, 0o700, true],
      [r.tmpDir, 0o700, true],
      [r.workdir, 0o700, true],
      ...r.privateFiles.map((file): [string, number, boolean] => [file, 0o600, false]),
    ];
    for (const [path, mode, directory] of parks) {
      try {
        setOwnerAndMode(path, { uid: ownerUid, gid: ownerGid, mode, directory });
      } catch (error) {
        this.#log.warn('sandbox.park_failed', { path, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
}

function busyUids(pool: UidPool): Set<number> {
  const busy = uidsWithProcesses(pool.base, pool.count);
  for (const uid of busy) if (pool.isLeased(uid)) busy.delete(uid);
  return busy;
}

/** Remove what `uid` left directly in shared temp dirs (no namespaces: they were its /tmp). */
function removeEntriesOwnedBy(uid: number, dirs: string[], log: Logger): void {
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(dir, name);
      try {
        if (lstatSync(path).uid === uid && dirname(path) === dir) rmSync(path, { recursive: true, force: true });
      } catch (error) {
        log.warn('sandbox.tmp_cleanup_failed', { path, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
}
