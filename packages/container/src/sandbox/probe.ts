/**
 * The probes behind decideIsolation: are we root, is bwrap installed, does a minimal sandbox
 * start (as a pool uid when root, as ourselves otherwise)? A probe runs the same argument
 * builder as a real agent run, so "the probe works" means "an agent sandbox starts".
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, lstatSync, readlinkSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { buildBwrapArgs, SYSTEM_PATHS, type SystemMount } from './bwrap-args';
import type { ProbeOutcome, SandboxProbe } from './isolation';

const PROBE_TIMEOUT_MS = 10_000;
const BWRAP_DIRS = ['/usr/bin', '/bin', '/usr/local/bin'];

/** The host's system paths as bwrap should recreate them: real dirs bound, symlinks copied. */
export function hostSystemMounts(paths: readonly string[] = SYSTEM_PATHS): SystemMount[] {
  const mounts: SystemMount[] = [];
  for (const path of paths) {
    try {
      const stats = lstatSync(path);
      if (stats.isSymbolicLink()) mounts.push({ path, kind: 'symlink', target: readlinkSync(path) });
      else if (stats.isDirectory()) mounts.push({ path, kind: 'dir' });
    } catch {
      // absent on this system
    }
  }
  return mounts;
}

/** The bwrap executable on PATH (or a usual place), or null. */
export function findBwrap(pathEnv: string | undefined = process.env.PATH): string | null {
  const dirs = [...(pathEnv ?? '').split(delimiter).filter(isAbsolute), ...BWRAP_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, 'bwrap');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The probe command inside the sandbox: `true` from the read-only /usr. */
function trueBinary(): string {
  for (const candidate of ['/usr/bin/true', '/bin/true']) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return '/bin/true';
}

/** Run a minimal sandbox as `ids` (or as ourselves) and report whether it exited 0. */
export function probeBwrap(bwrapPath: string, ids: { uid: number; gid: number } | null, runningAsRoot: boolean): Promise<ProbeOutcome> {
  const args = buildBwrapArgs({
    unprivileged: ids !== null || !runningAsRoot,
    system: hostSystemMounts(),
    readOnly: [],
    readWrite: [],
    forbidden: [],
    hostname: 'gastown-probe',
    chdir: '/',
    command: trueBinary(),
    args: [],
  });
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(bwrapPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/bin:/bin' }, ...(ids ?? {}) });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, reason: `the probe sandbox did not exit within ${PROBE_TIMEOUT_MS} ms` });
    }, PROBE_TIMEOUT_MS);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-500);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: error.message });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? { ok: true } : { ok: false, reason: stderr.trim() || `exit code ${code}, signal ${signal}` });
    });
  });
}

export interface ProbeOptions {
  /** The uid (and gid) a root container probes as: the pool's first. */
  poolUid: number;
  /** Override for tests. */
  isRoot?: boolean;
  bwrapPath?: string | null;
}

export async function probeSandbox(options: ProbeOptions): Promise<SandboxProbe> {
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  const bwrapPath = options.bwrapPath === undefined ? findBwrap() : options.bwrapPath;
  if (bwrapPath === null) return { isRoot, bwrapPath, namespacesAsPoolUid: null, namespacesAsSelf: null };
  const [asPool, asSelf] = await Promise.all([
    isRoot ? probeBwrap(bwrapPath, { uid: options.poolUid, gid: options.poolUid }, true) : Promise.resolve(null),
    probeBwrap(bwrapPath, null, isRoot),
  ]);
  return { isRoot, bwrapPath, namespacesAsPoolUid: asPool, namespacesAsSelf: asSelf };
}
