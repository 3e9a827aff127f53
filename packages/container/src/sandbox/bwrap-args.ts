/**
 * The bwrap command line for one agent: pure, so every case is a table row in the tests.
 *
 * The view an agent gets: read-only system dirs (/usr, /etc for DNS and certificates, the
 * /bin → usr/bin style links), a fresh /proc of its own pid namespace, a minimal /dev, an empty
 * /tmp, the read-only toolchain paths it needs, and read-write binds of only its own paths.
 * The network is shared on purpose: the control server reaches the runtime's loopback port and
 * the runtime reaches the broker's.
 */
import { isAbsolute, normalize, sep } from 'node:path';
import { SandboxError } from './errors';

/** A top-level system path as it exists on the host: a real dir (bound read-only) or a symlink (recreated). */
export type SystemMount = { path: string; kind: 'dir' } | { path: string; kind: 'symlink'; target: string };

export interface BwrapSpec {
  /**
   * bwrap runs as an unprivileged uid (the agent's own): it needs a user namespace, and nested
   * user namespaces are then disabled. False when bwrap runs as root (GASTOWN_SANDBOX=namespaces
   * in a root container): every capability is dropped instead.
   */
  unprivileged: boolean;
  system: SystemMount[];
  /** Files and dirs visible read-only (toolchain, plugin, instructions, a git mirror). */
  readOnly: string[];
  /** Files and dirs visible read-write (home, TMPDIR, workdir, a worktree's git paths). */
  readWrite: string[];
  /** Paths that must never be visible, nor any dir holding them (the data dir as a whole…). */
  forbidden: string[];
  hostname: string;
  chdir: string;
  command: string;
  args: string[];
}

/** Host paths bound read-only when they exist (the adapter reads which are dirs and which are links). */
export const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'] as const;

/** Mount points bwrap creates itself; nothing of the host is bound there. */
const OWN_MOUNTS = ['/proc', '/dev', '/tmp'];

function absolute(path: string, what: string): string {
  if (!isAbsolute(path)) throw new SandboxError('sandbox_spec_invalid', `${what} must be an absolute path`);
  const clean = normalize(path).replace(/\/+$/, '') || '/';
  if (clean === '/') throw new SandboxError('sandbox_spec_invalid', `${what} must not be the root directory`);
  return clean;
}

/** `inner` is `outer` or lies below it. */
export function isWithin(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);
}

const depth = (path: string) => path.split(sep).length;

export function buildBwrapArgs(spec: BwrapSpec): string[] {
  const system = spec.system.map((mount) => ({ ...mount, path: absolute(mount.path, 'a system path') }));
  const forbidden = spec.forbidden.map((path) => absolute(path, 'a forbidden path'));
  const binds = new Map<string, 'ro' | 'rw'>();
  const add = (path: string, mode: 'ro' | 'rw') => {
    const clean = absolute(path, `a ${mode === 'ro' ? 'read-only' : 'read-write'} bind`);
    const leak = forbidden.find((f) => isWithin(f, clean));
    if (leak !== undefined) throw new SandboxError('sandbox_spec_invalid', `a bind of ${clean} would expose ${leak}`);
    if (OWN_MOUNTS.includes(clean)) throw new SandboxError('sandbox_spec_invalid', `${clean} cannot be bound (the sandbox mounts its own)`);
    // already visible read-only through a system mount: nothing to add
    if (mode === 'ro' && system.some((m) => m.kind === 'dir' && isWithin(clean, m.path))) return;
    // read-write wins over read-only for the same path
    if (binds.get(clean) !== 'rw') binds.set(clean, mode);
  };
  for (const path of spec.readOnly) add(path, 'ro');
  for (const path of spec.readWrite) add(path, 'rw');
  if (!isAbsolute(spec.chdir)) throw new SandboxError('sandbox_spec_invalid', 'the working directory must be an absolute path');
  const chdir = normalize(spec.chdir);
  const command = absolute(spec.command, 'the command');
  if (!/^[A-Za-z0-9.-]{1,64}$/.test(spec.hostname)) throw new SandboxError('sandbox_spec_invalid', 'invalid sandbox hostname');

  const args: string[] = [];
  if (spec.unprivileged) args.push('--unshare-user', '--disable-userns');
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--hostname', spec.hostname);
  args.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL');
  for (const mount of system) {
    if (mount.kind === 'dir') args.push('--ro-bind', mount.path, mount.path);
    else args.push('--symlink', mount.target, mount.path);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
  // parents before children, so a read-write dir inside a read-only one stays writable
  const ordered = [...binds.entries()].sort(([a], [b]) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const [path, mode] of ordered) args.push(mode === 'rw' ? '--bind' : '--ro-bind', path, path);
  args.push('--chdir', chdir, '--', command, ...spec.args);
  return args;
}
