/**
 * What a polecat's git worktree needs beyond the worktree itself (see git/git-workspace.ts:
 * `git -C mirrors/<rig>.git worktree add … worktrees/<agentId>`):
 *
 *   mirrors/<rig>.git/                       read-only (config, refs, packed-refs, hooks)
 *   mirrors/<rig>.git/worktrees/<agentId>/   read-write: the worktree's HEAD, index, logs
 *   mirrors/<rig>.git/objects/               read-write: new commits' objects (shared by the rig),
 *                                            except objects/info (alternates) and objects/pack
 *   mirrors/<rig>.git/refs/heads/gt/<agentId>/  read-write: its own branches only
 *
 * The worktree's `.git` file says where its git dir is; after a run it is content the agent
 * could have rewritten, so the answer is only trusted when it has exactly the shape above,
 * inside the data dir, without a symlink, and the git dir's own pointers agree with it.
 */
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { SandboxError } from './errors';

export interface WorktreeGitPaths {
  mirror: string;
  adminDir: string;
  objectsDir: string;
  /** objects/info (alternates!) and objects/pack: read-only even inside the writable objects dir. */
  objectsReadOnly: string[];
  /** refs/heads/gt/<agentId> of the mirror, when it exists. */
  branchRefsDir: string | null;
}

const MAX_POINTER_BYTES = 4_096;
const AGENT_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** The path in a `.git` file (`gitdir: <path>`), or null when it is not one. */
export function parseGitFile(content: string): string | null {
  const match = /^gitdir: (.+)$/.exec(content.trim());
  return match?.[1] ? match[1].trim() : null;
}

/** The mirror a worktree git dir belongs to when it is `<rootDir>/mirrors/<name>.git/worktrees/<leaf>`, else null. */
export function mirrorOfAdminDir(adminDir: string, rootDir: string): string | null {
  if (!isAbsolute(adminDir) || normalize(adminDir) !== adminDir || adminDir.endsWith(sep)) return null;
  const worktrees = dirname(adminDir);
  const mirror = dirname(worktrees);
  const mirrors = dirname(mirror);
  const leaf = basename(adminDir);
  if (leaf === '' || leaf === '.' || leaf === '..' || basename(worktrees) !== 'worktrees') return null;
  if (!/^[A-Za-z0-9_.-]+\.git$/.test(basename(mirror)) || mirrors !== join(rootDir, 'mirrors')) return null;
  return mirror;
}

/** A small pointer file's text; throws the given error when it is missing, not a regular file or too large. */
function readPointer(path: string, fail: (why: string, cause?: unknown) => SandboxError): string {
  try {
    const stats = lstatSync(path);
    if (stats.isFile() && stats.size <= MAX_POINTER_BYTES) return readFileSync(path, 'utf8');
  } catch (error) {
    throw fail(`${basename(path)} cannot be read`, error);
  }
  throw fail(`${basename(path)} is not a small regular file`);
}

function untrusted(workdir: string, why: string, cause?: unknown): SandboxError {
  return new SandboxError('sandbox_prepare_failed', `the git dir of worktree ${workdir} is not trusted: ${why}`, cause === undefined ? undefined : { cause });
}

/**
 * The git paths of the worktree at `workdir`, or null when it is not a worktree (a clone has
 * a `.git` dir, a scratch dir none). Throws sandbox_prepare_failed when the pointers are not
 * the shape git-workspace creates.
 */
export function worktreeGitPaths(workdir: string, rootDir: string, agentId: string, ownerUid: number): WorktreeGitPaths | null {
  const dotGit = join(workdir, '.git');
  let stats;
  try {
    stats = lstatSync(dotGit);
  } catch {
    return null;
  }
  if (stats.isDirectory()) return null;
  if (!stats.isFile()) throw untrusted(workdir, '.git is neither a file nor a directory');
  if (!AGENT_ID.test(agentId)) throw untrusted(workdir, 'invalid agent id');

  const fail = (why: string, cause?: unknown) => untrusted(workdir, why, cause);
  const adminDir = parseGitFile(readPointer(dotGit, fail));
  const mirror = adminDir === null ? null : mirrorOfAdminDir(adminDir, rootDir);
  if (adminDir === null || mirror === null) throw fail('its .git file does not point into a mirror under the data dir');

  const realOrNull = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return null;
    }
  };
  const ownedDir = (path: string) => {
    try {
      const dir = lstatSync(path);
      return dir.isDirectory() && dir.uid === ownerUid;
    } catch {
      return false;
    }
  };
  if (realOrNull(adminDir) !== adminDir || realOrNull(mirror) !== mirror) throw fail('a symlink in its git dir path');
  if (!ownedDir(mirror) || !ownedDir(join(mirror, 'objects'))) throw fail('the mirror or its objects dir is not container-owned');
  if (resolve(adminDir, readPointer(join(adminDir, 'commondir'), fail).trim()) !== mirror) throw fail('its commondir is not the mirror');
  if (readPointer(join(adminDir, 'gitdir'), fail).trim() !== dotGit) throw fail('its gitdir does not point back at the worktree');

  const isDir = (path: string) => {
    try {
      return lstatSync(path).isDirectory();
    } catch {
      return false;
    }
  };
  const objectsDir = join(mirror, 'objects');
  const branchRefsDir = join(mirror, 'refs', 'heads', 'gt', agentId);
  return {
    mirror,
    adminDir,
    objectsDir,
    objectsReadOnly: ['info', 'pack'].map((name) => join(objectsDir, name)).filter(isDir),
    branchRefsDir: isDir(branchRefsDir) ? branchRefsDir : null,
  };
}
