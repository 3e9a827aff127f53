import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { GastownError, type RigRef } from '@gastown/protocol';
import type { Logger } from '../log/logger';
import { GIT_USER_EMAIL, GIT_USER_NAME, gitEnvironment, prepareGitHome } from './git-env';
import { createExecGitRunner, GitCommandError, type GitResult, type GitRunner } from './git-runner';
import { KeyedQueue } from './keyed-queue';
import { agentBranch, validAgentId, validBranch, validRig } from './validate';

export type MergeOutcome = { outcome: 'merged'; commitSha: string } | { outcome: 'conflict'; files: string[]; message: string } | { outcome: 'failed'; message: string };

/** The git operations the supervisor needs; every one runs through the rig's queue. */
export interface GitWorkspace {
  /** Bare mirror of a rig, cached per rig under the container's data dir. */
  ensureMirror(rig: RigRef): Promise<string>;
  /** Worktree for a polecat on branch gt/<agentId>/<beadId>, from the rig's default branch. */
  createWorktree(rig: RigRef, agentId: string, beadId: string): Promise<{ path: string; branch: string }>;
  /** Clone for a refinery. */
  createClone(rig: RigRef, agentId: string): Promise<string>;
  /** Push the agent's branch to the rig's origin. */
  pushBranch(rig: RigRef, workdir: string, branch: string): Promise<void>;
  /** Merge `branch` into the default branch of the rig's origin; never loses work on conflict. */
  merge(rig: RigRef, branch: string, message: string): Promise<MergeOutcome>;
  remove(path: string): Promise<void>;
}

export interface CliGitWorkspaceOptions {
  /** Absolute data dir: mirrors/, worktrees/, clones/, tmp/ live below it. */
  dataDir: string;
  runGit: GitRunner;
  logger: Logger;
}

/**
 * GitWorkspace on the real git CLI. Layout under the data dir:
 *   mirrors/<rigId>.git   bare repository fetched from the rig's gitUrl (remote "origin")
 *   worktrees/<agentId>   a polecat's worktree of the mirror on gt/<agentId>/<beadId>
 *   clones/<agentId>      a refinery's clone
 *   tmp/                  temporary merge worktrees
 * Every operation on a rig runs through one per-rig queue.
 */
export class CliGitWorkspace implements GitWorkspace {
  readonly dataDir: string;
  readonly #runGit: GitRunner;
  readonly #logger: Logger;
  readonly #queue = new KeyedQueue();

  constructor(options: CliGitWorkspaceOptions) {
    if (!isAbsolute(options.dataDir)) throw new GastownError('internal', 'git data dir must be absolute');
    this.dataDir = resolve(options.dataDir);
    this.#runGit = options.runGit;
    this.#logger = options.logger;
  }

  /** Prepare the container-owned git HOME under the data dir and build the real runner. */
  static async create(options: { dataDir: string; logger: Logger; gitBinary?: string; path?: string; timeoutMs?: number }): Promise<CliGitWorkspace> {
    const dataDir = resolve(options.dataDir);
    const home = join(dataDir, 'git-home');
    await prepareGitHome(home);
    const runGit = createExecGitRunner({ gitBinary: options.gitBinary, env: gitEnvironment(home, options.path), defaultTimeoutMs: options.timeoutMs });
    return new CliGitWorkspace({ dataDir, runGit, logger: options.logger });
  }

  mirrorPath(rigId: string): string {
    return join(this.dataDir, 'mirrors', `${rigId}.git`);
  }
  worktreePath(agentId: string): string {
    return join(this.dataDir, 'worktrees', validAgentId(agentId));
  }
  clonePath(agentId: string): string {
    return join(this.dataDir, 'clones', validAgentId(agentId));
  }

  async ensureMirror(rigInput: RigRef): Promise<string> {
    const rig = validRig(rigInput);
    return this.#queue.run(rig.id, () => this.#syncMirror(rig));
  }

  async createWorktree(rigInput: RigRef, agentId: string, beadId: string): Promise<{ path: string; branch: string }> {
    const rig = validRig(rigInput);
    const branch = agentBranch(agentId, beadId);
    const path = this.worktreePath(agentId);
    return this.#queue.run(rig.id, async () => {
      const mirror = await this.#syncMirror(rig);
      await this.#git(['-C', mirror, 'worktree', 'prune']);
      if (await exists(path)) {
        if ((await this.#currentBranch(path)) === branch) return { path, branch };
        this.#logger.warn('git.worktree.replaced', { rigId: rig.id, agentId, path });
        await this.#removeWorktree(mirror, path);
      }
      await mkdir(dirname(path), { recursive: true });
      if (await this.#refExists(mirror, `refs/heads/${branch}`)) {
        await this.#git(['-C', mirror, 'worktree', 'add', '--quiet', '--', path, branch]);
      } else {
        const origin = `refs/remotes/origin/${branch}`;
        const start = (await this.#refExists(mirror, origin)) ? origin : `refs/remotes/origin/${rig.defaultBranch}`;
        await this.#git(['-C', mirror, 'worktree', 'add', '--quiet', '-b', branch, '--', path, start]);
      }
      this.#logger.info('git.worktree.created', { rigId: rig.id, agentId, branch });
      return { path, branch };
    });
  }

  async createClone(rigInput: RigRef, agentId: string): Promise<string> {
    const rig = validRig(rigInput);
    const path = this.clonePath(agentId);
    return this.#queue.run(rig.id, async () => {
      if (await exists(join(path, '.git'))) {
        await this.#git(['-C', path, 'remote', 'set-url', 'origin', '--', rig.gitUrl]);
        await this.#git(['-C', path, 'fetch', '--quiet', '--prune', '--', 'origin']);
        return path;
      }
      await rm(path, { recursive: true, force: true });
      await mkdir(dirname(path), { recursive: true });
      await this.#git(['clone', '--quiet', '--origin', 'origin', '--', rig.gitUrl, path]);
      await this.#setIdentity(path);
      this.#logger.info('git.clone.created', { rigId: rig.id, agentId });
      return path;
    });
  }

  async pushBranch(rigInput: RigRef, workdir: string, branchInput: string): Promise<void> {
    const rig = validRig(rigInput);
    const branch = validBranch(branchInput);
    const dir = this.#insideDataDir(workdir);
    return this.#queue.run(rig.id, async () => {
      await this.#git(['-C', dir, 'push', '--quiet', '--', rig.gitUrl, `refs/heads/${branch}:refs/heads/${branch}`]);
      this.#logger.info('git.branch.pushed', { rigId: rig.id, branch });
    });
  }

  async merge(rigInput: RigRef, branchInput: string, message: string): Promise<MergeOutcome> {
    const rig = validRig(rigInput);
    const branch = validBranch(branchInput);
    if (typeof message !== 'string' || message.trim().length === 0 || message.length > 2000) {
      throw new GastownError('validation_failed', 'invalid merge message');
    }
    if (branch === rig.defaultBranch) throw new GastownError('validation_failed', 'cannot merge the default branch into itself');
    return this.#queue.run(rig.id, () => this.#merge(rig, branch, message));
  }

  async remove(pathInput: string): Promise<void> {
    const path = this.#insideDataDir(pathInput);
    const area = relative(this.dataDir, path).split(sep)[0];
    if ((area !== 'worktrees' && area !== 'clones') || relative(this.dataDir, path).split(sep).length !== 2) {
      throw new GastownError('validation_failed', 'only an agent worktree or clone can be removed');
    }
    if (area === 'clones') return rm(path, { recursive: true, force: true });
    const mirror = await this.#mirrorOf(path);
    if (!mirror) return rm(path, { recursive: true, force: true });
    return this.#queue.run(basename(mirror, '.git'), () => this.#removeWorktree(mirror, path));
  }

  // ---- internals (callers hold the rig's queue) --------------------------------

  async #syncMirror(rig: RigRef): Promise<string> {
    const mirror = this.mirrorPath(rig.id);
    if (!(await exists(join(mirror, 'HEAD')))) {
      await mkdir(mirror, { recursive: true });
      await this.#git(['init', '--quiet', '--bare', '--', mirror]);
      await this.#git(['-C', mirror, 'remote', 'add', 'origin', '--', rig.gitUrl]);
      await this.#setIdentity(mirror);
      this.#logger.info('git.mirror.created', { rigId: rig.id });
    } else {
      await this.#git(['-C', mirror, 'remote', 'set-url', 'origin', '--', rig.gitUrl]);
    }
    await this.#git(['-C', mirror, 'fetch', '--quiet', '--prune', '--', 'origin']);
    if (!(await this.#refExists(mirror, `refs/remotes/origin/${rig.defaultBranch}`))) {
      throw new GastownError('not_found', `default branch ${rig.defaultBranch} not found on the rig's origin`);
    }
    return mirror;
  }

  async #merge(rig: RigRef, branch: string, message: string): Promise<MergeOutcome> {
    const log = this.#logger.child({ rigId: rig.id, branch });
    let mirror: string;
    try {
      mirror = await this.#syncMirror(rig);
    } catch (error) {
      return failed(log, error);
    }
    const source = (await this.#refExists(mirror, `refs/remotes/origin/${branch}`))
      ? `refs/remotes/origin/${branch}`
      : (await this.#refExists(mirror, `refs/heads/${branch}`))
        ? `refs/heads/${branch}`
        : null;
    if (!source) return { outcome: 'failed', message: `branch ${branch} not found` };

    await mkdir(join(this.dataDir, 'tmp'), { recursive: true });
    const tmp = await mkdtemp(join(this.dataDir, 'tmp', `merge-${rig.id}-`));
    try {
      for (let attempt = 1; ; attempt++) {
        const base = await this.#revParse(mirror, `refs/remotes/origin/${rig.defaultBranch}`);
        if (attempt === 1) await this.#git(['-C', mirror, 'worktree', 'add', '--quiet', '--detach', '--', tmp, base]);
        else await this.#git(['-C', tmp, 'checkout', '--quiet', '--force', '--detach', base]);

        const merged = await this.#runGit(['-C', tmp, 'merge', '--quiet', '--no-ff', '--no-edit', '-m', message, '--', source]);
        if (merged.code !== 0) {
          const files = await this.#conflictedFiles(tmp);
          await this.#runGit(['-C', tmp, 'merge', '--abort']);
          if (files.length === 0) return failed(log, new GitCommandError('merge', merged.code, merged.stderr));
          log.info('git.merge.conflict', { files: files.length });
          return { outcome: 'conflict', files, message: `merging ${branch} into ${rig.defaultBranch} conflicts in: ${files.join(', ')}` };
        }
        const commitSha = await this.#revParse(tmp, 'HEAD');
        const pushed = await this.#runGit(['-C', tmp, 'push', '--quiet', '--', rig.gitUrl, `HEAD:refs/heads/${rig.defaultBranch}`]);
        if (pushed.code === 0) {
          await this.#runGit(['-C', mirror, 'fetch', '--quiet', '--', 'origin']);
          log.info('git.merge.merged', { commitSha });
          return { outcome: 'merged', commitSha };
        }
        // Lost a race with another push to the default branch? Refetch and retry once.
        await this.#git(['-C', mirror, 'fetch', '--quiet', '--prune', '--', 'origin']);
        const moved = (await this.#revParse(mirror, `refs/remotes/origin/${rig.defaultBranch}`)) !== base;
        if (!moved || attempt >= 2) return failed(log, new GitCommandError('push', pushed.code, pushed.stderr));
        log.warn('git.merge.retry', { reason: 'default branch moved during merge' });
      }
    } catch (error) {
      return failed(log, error);
    } finally {
      await this.#removeWorktree(mirror, tmp).catch((error: unknown) => log.warn('git.merge.cleanup_failed', { error: errorText(error) }));
    }
  }

  async #conflictedFiles(dir: string): Promise<string[]> {
    const result = await this.#runGit(['-C', dir, 'diff', '--name-only', '--diff-filter=U', '-z']);
    if (result.code !== 0) return [];
    return [...new Set(result.stdout.split('\0').filter((f) => f.length > 0))].sort();
  }

  async #removeWorktree(mirror: string, path: string): Promise<void> {
    const removed = await this.#runGit(['-C', mirror, 'worktree', 'remove', '--force', '--', path]);
    if (removed.code !== 0) {
      await rm(path, { recursive: true, force: true });
      await this.#runGit(['-C', mirror, 'worktree', 'prune']);
    }
  }

  async #mirrorOf(path: string): Promise<string | null> {
    if (!(await exists(path))) return null;
    const result = await this.#runGit(['-C', path, 'rev-parse', '--path-format=absolute', '--git-common-dir']);
    if (result.code !== 0) return null;
    const common = resolve(result.stdout.trim());
    return dirname(common) === join(this.dataDir, 'mirrors') ? common : null;
  }

  async #currentBranch(path: string): Promise<string | null> {
    const result = await this.#runGit(['-C', path, 'symbolic-ref', '--quiet', '--short', 'HEAD']);
    return result.code === 0 ? result.stdout.trim() : null;
  }

  async #refExists(repo: string, ref: string): Promise<boolean> {
    const result = await this.#runGit(['-C', repo, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    return result.code === 0;
  }

  async #revParse(repo: string, ref: string): Promise<string> {
    const result = await this.#git(['-C', repo, 'rev-parse', '--verify', `${ref}^{commit}`]);
    return result.stdout.trim();
  }

  async #setIdentity(repo: string): Promise<void> {
    await this.#git(['-C', repo, 'config', 'user.name', GIT_USER_NAME]);
    await this.#git(['-C', repo, 'config', 'user.email', GIT_USER_EMAIL]);
  }

  async #git(args: string[]): Promise<GitResult> {
    const result = await this.#runGit(args);
    if (result.code !== 0) throw new GitCommandError(subcommandOf(args), result.code, result.stderr);
    return result;
  }

  #insideDataDir(path: string): string {
    const abs = resolve(path);
    const rel = relative(this.dataDir, abs);
    if (!isAbsolute(path) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new GastownError('validation_failed', 'path is outside the container data dir');
    }
    return abs;
  }
}

function subcommandOf(args: readonly string[]): string {
  const index = args[0] === '-C' ? 2 : 0;
  return args[index] ?? 'unknown';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failed(log: Logger, error: unknown): MergeOutcome {
  const message = errorText(error);
  log.warn('git.merge.failed', { error: message });
  return { outcome: 'failed', message };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
