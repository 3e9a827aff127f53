/**
 * Handing an agent's paths to its uid and taking them back, as root.
 *
 * Paths an agent has owned can hold anything it put there (symlinks to /etc included), so
 * nothing here follows a symlink: trees are walked with lstat and lchown, single paths are
 * changed through a descriptor opened with O_NOFOLLOW. This is only race-free because no
 * process of the old owner is alive while it runs (the pool sweeps a uid before reuse).
 */
import { constants, closeSync, fchmodSync, fchownSync, fstatSync, lchownSync, lstatSync, openSync, readdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { isWithin } from './bwrap-args';
import { SandboxError } from './errors';

const OPEN_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function prepareFailed(message: string, cause?: unknown): SandboxError {
  return new SandboxError('sandbox_prepare_failed', message, cause === undefined ? undefined : { cause });
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** Change owner and/or mode of `path` itself, never of a symlink's target. Returns the stats before. */
export function setOwnerAndMode(path: string, change: { uid?: number; gid?: number; mode?: number; directory?: boolean }): Stats {
  let fd: number;
  try {
    fd = openSync(path, OPEN_NOFOLLOW | (change.directory ? constants.O_DIRECTORY : 0));
  } catch (error) {
    throw prepareFailed(`cannot open ${path} (missing, a symlink, or not a directory)`, error);
  }
  try {
    const before = fstatSync(fd);
    const uid = change.uid ?? before.uid;
    const gid = change.gid ?? before.gid;
    const chowned = uid !== before.uid || gid !== before.gid;
    if (chowned) fchownSync(fd, uid, gid);
    // a chown may clear set-id bits: set the mode after it
    if (change.mode !== undefined && (chowned || (before.mode & 0o7777) !== change.mode)) fchmodSync(fd, change.mode);
    return before;
  } catch (error) {
    throw prepareFailed(`cannot change owner or mode of ${path}`, error);
  } finally {
    closeSync(fd);
  }
}

/**
 * Give a whole tree to `uid:gid` (lchown on every entry, descending only into real dirs), then
 * set the top's mode. The top must be a real directory or file.
 */
export function chownTree(top: string, uid: number, gid: number, topMode: number): void {
  const stats = lstatOrNull(top);
  if (!stats || stats.isSymbolicLink()) throw prepareFailed(`${top} is missing or a symlink`);
  const walk = (path: string, isDir: boolean) => {
    lchownSync(path, uid, gid);
    if (!isDir) return;
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      walk(join(path, entry.name), entry.isDirectory());
    }
  };
  try {
    walk(top, stats.isDirectory());
  } catch (error) {
    throw prepareFailed(`cannot give ${top} to the agent uid`, error);
  }
  setOwnerAndMode(top, { mode: topMode, directory: stats.isDirectory() });
}

/**
 * Make every dir between `rootDir` (inclusive) and `path` (exclusive) root-owned 0711:
 * traversable by agent uids, not listable. Above `rootDir` nothing is changed, but every
 * ancestor must already let others through (o+x), or no agent uid could reach its paths.
 */
export function secureAncestors(path: string, rootDir: string, ownerUid: number): void {
  const chain: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    chain.push(dir);
    if (dir === dirname(dir)) break;
  }
  for (const dir of chain) {
    if (isWithin(dir, rootDir)) {
      const stats = lstatOrNull(dir);
      if (!stats || !stats.isDirectory()) throw prepareFailed(`${dir} is missing or not a directory`);
      if (stats.uid !== ownerUid) throw prepareFailed(`${dir} is not owned by the container (uid ${stats.uid})`);
      setOwnerAndMode(dir, { mode: 0o711, directory: true });
    } else {
      const stats = lstatOrNull(dir);
      if (stats && stats.isDirectory() && (stats.mode & 0o001) === 0) {
        throw prepareFailed(
          `${dir} does not let other users through (mode ${(stats.mode & 0o7777).toString(8)}): agent uids cannot reach ${path}; put the data dir below a traversable dir`,
        );
      }
    }
  }
}

/**
 * A container-owned file the agent reads or runs (the runtime binary, the plugin bundle):
 * readable by others, its directory listable by others (the runtime's module loader lists
 * it), every further ancestor traversable. Nothing is changed: a failure names the path.
 */
export function assertReadableByOthers(path: string): void {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw prepareFailed(`${path} does not exist`, error);
  }
  const modeOf = (p: string) => (statSync(p).mode & 0o7777).toString(8);
  const need = stats.isDirectory() ? 0o005 : 0o004;
  if ((stats.mode & need) !== need) throw prepareFailed(`${path} is not readable by other users (mode ${modeOf(path)})`);
  const parent = dirname(path);
  if ((statSync(parent).mode & 0o005) !== 0o005) {
    throw prepareFailed(
      `${parent} is not listable by other users (mode ${modeOf(parent)}): agent uids cannot load ${path}; keep toolchain files out of the data dir's own top level`,
    );
  }
  for (let dir = parent; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) throw prepareFailed(`${dir} does not let other users through: agent uids cannot read ${path}`);
    if (dir === dirname(dir)) break;
  }
}
