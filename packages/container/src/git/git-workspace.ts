import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { GastownError, RigIdSchema, type MergeStrategy, type RigRef } from '@gastown/protocol';
import type { Logger } from '../log/logger';
import { AGENT_FETCH_REFSPECS, MIRROR_PRE_RECEIVE_HOOK, hasOwnGitDir, headBranchOf, reviewRef, uploadPackTrusting } from './agent-repo';
import { GIT_USER_EMAIL, GIT_USER_NAME, gitEnvironment, prepareGitHome } from './git-env';
import { createExecGitRunner, GitCommandError, type GitResult, type GitRunner } from './git-runner';
import { KeyedQueue } from './keyed-queue';
import type { RigGitAuth } from './rig-git-auth';
import { agentBranch, branchOwner, validAgentId, validBranch, validCommit, validRig } from './validate';

export type MergeOutcome =
  | { outcome: 'merged'; commitSha: string }
  /** Strategy pull_request: the approved commit is on the branch at the rig (nothing merged; the control plane opens the pull request). */
  | { outcome: 'pushed'; commitSha: string }
  | { outcome: 'conflict'; files: string[]; message: string }
  /** The branch is no longer at the approved commit (`branchCommit`: where it is now); nothing was merged. */
  | { outcome: 'changed_since_review'; branchCommit: string; message: string }
  | { outcome: 'failed'; message: string };

/** The git operations the supervisor needs; every one runs through the rig's queue. */
export interface GitWorkspace {
  /** Bare mirror of a rig, cached per rig under the container's data dir. */
  ensureMirror(rig: RigRef): Promise<string>;
  /**
   * A polecat's own repository on branch gt/<agentId>/<beadId> (from the container's copy of that
   * branch, the rig's, or the rig's default branch). Its refs are its own: nothing it does to them
   * reaches the mirror or the rig.
   */
  createWorktree(rig: RigRef, agentId: string, beadId: string): Promise<{ path: string; branch: string }>;
  /** A refinery's own repository, fresh at every call, on the rig's default branch. */
  createClone(rig: RigRef, agentId: string): Promise<string>;
  /**
   * gt_done: copy `branch` out of the polecat's repository at `workdir` into the mirror (a ref only
   * the container writes) and return the commit copied. That copy is what is pushed and merged.
   */
  submitBranch(rig: RigRef, workdir: string, branch: string): Promise<string>;
  /**
   * Push the container's copy of the branch to the rig's origin. `capture` (default true) first
   * copies the branch from the polecat's repository, for a run that never submitted it.
   */
  pushBranch(rig: RigRef, workdir: string, branch: string, options?: { capture?: boolean }): Promise<void>;
  /**
   * Merge `commit` into the default branch of the rig's origin, only while it is the branch's tip
   * (the container's copy, else the rig's); never loses work on conflict. Strategy `pull_request`:
   * the same check, then `commit` is pushed to the branch at the rig and nothing is merged (`pushed`).
   */
  merge(rig: RigRef, branch: string, message: string, commit: string, options?: { strategy?: MergeStrategy }): Promise<MergeOutcome>;
  remove(path: string): Promise<void>;
  /**
   * A deleted rig: its mirror and the given agents' repositories (worktrees and clones) are removed,
   * after any operation in the rig's queue. Returns how many directories were there. Optional: a
   * workspace without it removes nothing.
   */
  removeRig?(rigId: string, agentIds: readonly string[]): Promise<number>;
}

export interface CliGitWorkspaceOptions {
  /** Absolute data dir: mirrors/, worktrees/, clones/, tmp/ live below it. */
  dataDir: string;
  runGit: GitRunner;
  logger: Logger;
  /** How commands that talk to a private rig (auth != none) authenticate; without it such a rig fails with git_auth_failed. */
  auth?: RigGitAuth;
}

/**
 * GitWorkspace on the real git CLI. Layout under the data dir:
 *   mirrors/<rigId>.git   bare repository fetched from the rig's gitUrl (remote "origin"); the
 *                         container's copies of submitted branches live at refs/gastown/review/<branch>
 *   worktrees/<agentId>   a polecat's own repository (a copy of the mirror) on gt/<agentId>/<beadId>
 *   clones/<agentId>      a refinery's own repository (a copy of the mirror)
 *   tmp/                  temporary merge worktrees of the mirror
 *
 * Agents never share a repository with the container: an agent repository is a `git clone
 * --no-hardlinks` of the mirror whose `origin` is the mirror (never the rig), so its refs, config
 * and hooks are its own and no object file is shared. Only the container's git talks to the rig.
 * Work leaves an agent repository one way: the container fetches the agent's branch from it into
 * the mirror (`submitBranch`), and pushes and merges only that copy, by commit id.
 * Every operation on a rig runs through one per-rig queue.
 */
export class CliGitWorkspace implements GitWorkspace {
  readonly dataDir: string;
  readonly #runGit: GitRunner;
  readonly #logger: Logger;
  readonly #auth: RigGitAuth | null;
  readonly #queue = new KeyedQueue();

  constructor(options: CliGitWorkspaceOptions) {
    if (!isAbsolute(options.dataDir)) throw new GastownError('config_invalid', 'git data dir must be absolute');
    this.dataDir = resolve(options.dataDir);
    this.#runGit = options.runGit;
    this.#logger = options.logger;
    this.#auth = options.auth ?? null;
  }

  /** Prepare the container-owned git HOME under the data dir and build the real runner. */
  static async create(options: {
    dataDir: string;
    logger: Logger;
    gitBinary?: string;
    path?: string;
    timeoutMs?: number;
    auth?: RigGitAuth;
  }): Promise<CliGitWorkspace> {
    const dataDir = resolve(options.dataDir);
    const home = join(dataDir, 'git-home');
    await prepareGitHome(home);
    const runGit = createExecGitRunner({ gitBinary: options.gitBinary, env: gitEnvironment(home, options.path), defaultTimeoutMs: options.timeoutMs });
    return new CliGitWorkspace({ dataDir, runGit, logger: options.logger, ...(options.auth ? { auth: options.auth } : {}) });
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
      if (await exists(path)) {
        // the agent's own repository from an earlier run of this agent: its work is there
        if ((await headBranchOf(path)) === branch) return { path, branch };
        this.#logger.warn('git.worktree.replaced', { rigId: rig.id, agentId, path });
        await rm(path, { recursive: true, force: true });
      }
      // resume from the container's copy of the branch, else the rig's, else start from the default branch
      const start =
        (await this.#commitOf(mirror, reviewRef(branch))) ??
        (await this.#commitOf(mirror, `refs/remotes/origin/${branch}`)) ??
        (await this.#revParse(mirror, `refs/remotes/origin/${rig.defaultBranch}`));
      await this.#createAgentRepo(mirror, path);
      await this.#git(['-C', path, 'checkout', '--quiet', '-b', branch, start]);
      this.#logger.info('git.worktree.created', { rigId: rig.id, agentId, branch });
      return { path, branch };
    });
  }

  async createClone(rigInput: RigRef, agentId: string): Promise<string> {
    const rig = validRig(rigInput);
    const path = this.clonePath(agentId);
    return this.#queue.run(rig.id, async () => {
      const mirror = await this.#syncMirror(rig);
      // never reused: the container runs no git in a repository an agent has had
      await rm(path, { recursive: true, force: true });
      await this.#createAgentRepo(mirror, path);
      await this.#git(['-C', path, 'checkout', '--quiet', '-b', rig.defaultBranch, '--track', `origin/${rig.defaultBranch}`]);
      this.#logger.info('git.clone.created', { rigId: rig.id, agentId });
      return path;
    });
  }

  async submitBranch(rigInput: RigRef, workdir: string, branchInput: string): Promise<string> {
    const rig = validRig(rigInput);
    const { branch, repo } = this.#polecatRepo(workdir, branchInput);
    return this.#queue.run(rig.id, async () => {
      const mirror = await this.#syncMirror(rig);
      const commit = await this.#capture(mirror, repo, branch);
      this.#logger.info('git.branch.submitted', { rigId: rig.id, branch, commit });
      return commit;
    });
  }

  async pushBranch(rigInput: RigRef, workdir: string, branchInput: string, options: { capture?: boolean } = {}): Promise<void> {
    const rig = validRig(rigInput);
    const { branch, repo } = this.#polecatRepo(workdir, branchInput);
    return this.#queue.run(rig.id, async () => {
      const mirror = await this.#syncMirror(rig);
      if (options.capture !== false) await this.#capture(mirror, repo, branch);
      else if ((await this.#commitOf(mirror, reviewRef(branch))) === null) throw new GastownError('not_found', `branch ${branch} was never submitted`);
      await this.#remoteOk(rig, ['-C', mirror, 'push', '--quiet', '--', rig.gitUrl, `${reviewRef(branch)}:refs/heads/${branch}`]);
      this.#logger.info('git.branch.pushed', { rigId: rig.id, branch });
    });
  }

  async merge(rigInput: RigRef, branchInput: string, message: string, commitInput: string, options: { strategy?: MergeStrategy } = {}): Promise<MergeOutcome> {
    const rig = validRig(rigInput);
    const branch = validBranch(branchInput);
    const commit = validCommit(commitInput);
    if (typeof message !== 'string' || message.trim().length === 0 || message.length > 2000) {
      throw new GastownError('validation_failed', 'invalid merge message');
    }
    if (branch === rig.defaultBranch) throw new GastownError('validation_failed', 'cannot merge the default branch into itself');
    const strategy = options.strategy ?? 'direct';
    if (strategy !== 'direct' && strategy !== 'pull_request') throw new GastownError('validation_failed', 'invalid merge strategy');
    return this.#queue.run(rig.id, () => this.#merge(rig, branch, message, commit, strategy));
  }

  async remove(pathInput: string): Promise<void> {
    const path = this.#insideDataDir(pathInput);
    const area = relative(this.dataDir, path).split(sep)[0];
    if ((area !== 'worktrees' && area !== 'clones') || relative(this.dataDir, path).split(sep).length !== 2) {
      throw new GastownError('validation_failed', 'only an agent worktree or clone can be removed');
    }
    await rm(path, { recursive: true, force: true });
  }

  async removeRig(rigIdInput: string, agentIds: readonly string[]): Promise<number> {
    const parsed = RigIdSchema.safeParse(rigIdInput);
    if (!parsed.success) throw new GastownError('validation_failed', 'invalid rig id');
    const rigId = parsed.data;
    const paths = [this.mirrorPath(rigId), ...agentIds.flatMap((id) => [this.worktreePath(id), this.clonePath(id)])];
    return this.#queue.run(rigId, async () => {
      let removed = 0;
      for (const path of paths) {
        if (!(await exists(path))) continue;
        await rm(path, { recursive: true, force: true });
        removed += 1;
      }
      this.#logger.info('git.rig.removed', { rigId, removed });
      return removed;
    });
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
    const hook = join(mirror, 'hooks', 'pre-receive');
    await mkdir(dirname(hook), { recursive: true });
    await writeFile(hook, MIRROR_PRE_RECEIVE_HOOK, { mode: 0o755 });
    await chmod(hook, 0o755);
    await this.#remoteOk(rig, ['-C', mirror, 'fetch', '--quiet', '--prune', '--', 'origin']);
    if (!(await this.#refExists(mirror, `refs/remotes/origin/${rig.defaultBranch}`))) {
      throw new GastownError('not_found', `default branch ${rig.defaultBranch} not found on the rig's origin`);
    }
    return mirror;
  }

  /**
   * A new agent repository at `path`: a copy of the mirror's objects (no hard links: no object file
   * is shared with the container), `origin` = the mirror, fetching the rig's branches and the
   * container's review copies. Runs before the agent ever sees it.
   */
  async #createAgentRepo(mirror: string, path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    // the mirror has no refs/heads (its branches are remote-tracking): git calls it empty and copies only its objects
    await this.#git(['clone', '--quiet', '--no-hardlinks', '--no-checkout', '--origin', 'origin', '--', mirror, path]);
    await this.#git(['-C', path, 'config', '--unset-all', 'remote.origin.fetch']);
    for (const refspec of AGENT_FETCH_REFSPECS) await this.#git(['-C', path, 'config', '--add', 'remote.origin.fetch', refspec]);
    // an agent of another uid may still fetch from the container-owned mirror
    await this.#git(['-C', path, 'config', 'remote.origin.uploadpack', uploadPackTrusting(mirror)]);
    // the empty clone set its default branch up to track the mirror's (missing) HEAD
    await this.#runGit(['-C', path, 'config', '--remove-section', 'branch.main']);
    await this.#git(['-C', path, 'fetch', '--quiet', '--no-tags', 'origin']);
    await this.#setIdentity(path);
  }

  /** Fetch `branch` from the agent repository `repo` into the mirror's review ref; returns its commit. */
  async #capture(mirror: string, repo: string, branch: string): Promise<string> {
    if (!(await hasOwnGitDir(repo))) throw new GastownError('conflict', `the repository of ${branch} is missing or not a repository`);
    const gitDir = join(repo, '.git');
    const fetched = await this.#runGit([
      '-c',
      'fetch.fsckObjects=true',
      '-C',
      mirror,
      'fetch',
      '--quiet',
      '--no-tags',
      '--no-write-fetch-head',
      '--no-recurse-submodules',
      '--upload-pack',
      uploadPackTrusting(gitDir),
      '--',
      gitDir,
      `+refs/heads/${branch}:${reviewRef(branch)}`,
    ]);
    if (fetched.code !== 0) {
      throw new GastownError(
        'conflict',
        `branch ${branch} could not be read from the agent's repository: ${new GitCommandError('fetch', fetched.code, fetched.stderr).message}`,
      );
    }
    return this.#revParse(mirror, reviewRef(branch));
  }

  async #merge(rig: RigRef, branch: string, message: string, commit: string, strategy: MergeStrategy): Promise<MergeOutcome> {
    const log = this.#logger.child({ rigId: rig.id, branch });
    let mirror: string;
    try {
      mirror = await this.#syncMirror(rig);
    } catch (error) {
      return failed(log, error);
    }
    // the container's copy of the branch when it has one; the rig's only for a branch it never copied (e.g. after a restart)
    const tip = (await this.#commitOf(mirror, reviewRef(branch))) ?? (await this.#commitOf(mirror, `refs/remotes/origin/${branch}`));
    if (tip === null) return { outcome: 'failed', message: `branch ${branch} not found` };
    if (tip !== commit) {
      log.warn('git.merge.changed_since_review', { approved: commit, tip });
      return {
        outcome: 'changed_since_review',
        branchCommit: tip,
        message: `branch ${branch} is at ${tip}, not at the approved commit ${commit}: nothing was merged`,
      };
    }
    if (strategy === 'pull_request') return this.#pushForReview(rig, mirror, branch, commit, log);

    await mkdir(join(this.dataDir, 'tmp'), { recursive: true });
    const tmp = await mkdtemp(join(this.dataDir, 'tmp', `merge-${rig.id}-`));
    try {
      for (let attempt = 1; ; attempt++) {
        const base = await this.#revParse(mirror, `refs/remotes/origin/${rig.defaultBranch}`);
        if (attempt === 1) await this.#git(['-C', mirror, 'worktree', 'add', '--quiet', '--detach', '--', tmp, base]);
        else await this.#git(['-C', tmp, 'checkout', '--quiet', '--force', '--detach', base]);

        // the commit itself, never a ref: what was reviewed is what is merged
        const merged = await this.#runGit(['-C', tmp, 'merge', '--quiet', '--no-ff', '--no-edit', '-m', message, '--', commit]);
        if (merged.code !== 0) {
          const files = await this.#conflictedFiles(tmp);
          await this.#runGit(['-C', tmp, 'merge', '--abort']);
          if (files.length === 0) return failed(log, new GitCommandError('merge', merged.code, merged.stderr));
          log.info('git.merge.conflict', { files: files.length });
          return { outcome: 'conflict', files, message: `merging ${branch} into ${rig.defaultBranch} conflicts in: ${files.join(', ')}` };
        }
        const commitSha = await this.#revParse(tmp, 'HEAD');
        const pushed = await this.#remote(rig, ['-C', tmp, 'push', '--quiet', '--', rig.gitUrl, `HEAD:refs/heads/${rig.defaultBranch}`]);
        if (pushed.code === 0) {
          // best effort: the merge is on the rig whatever this refresh of the mirror does
          await this.#remote(rig, ['-C', mirror, 'fetch', '--quiet', '--', 'origin']).catch((error: unknown) =>
            log.warn('git.merge.mirror_fetch_failed', { error: errorText(error) }),
          );
          log.info('git.merge.merged', { commitSha, commit });
          return { outcome: 'merged', commitSha };
        }
        // Lost a race with another push to the default branch? Refetch and retry once.
        await this.#remoteOk(rig, ['-C', mirror, 'fetch', '--quiet', '--prune', '--', 'origin']);
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

  /** Strategy pull_request: the approved commit (checked above) goes to the branch at the rig; nothing is merged. */
  async #pushForReview(rig: RigRef, mirror: string, branch: string, commit: string, log: Logger): Promise<MergeOutcome> {
    try {
      // by commit id, never a ref: what was reviewed is what the pull request shows; never forced
      const pushed = await this.#remote(rig, ['-C', mirror, 'push', '--quiet', '--', rig.gitUrl, `${commit}:refs/heads/${branch}`]);
      if (pushed.code !== 0) return failed(log, new GitCommandError('push', pushed.code, pushed.stderr));
    } catch (error) {
      return failed(log, error);
    }
    log.info('git.merge.pushed', { commit });
    return { outcome: 'pushed', commitSha: commit };
  }

  /** The polecat branch and its repository: `workdir` must be the repository of the branch's agent. */
  #polecatRepo(workdir: string, branchInput: string): { branch: string; repo: string } {
    const branch = validBranch(branchInput);
    const repo = this.#insideDataDir(workdir);
    const owner = branchOwner(branch);
    if (!owner || repo !== this.worktreePath(owner.agentId)) {
      throw new GastownError('validation_failed', `${branch} is not the branch of the polecat repository ${repo}`);
    }
    return { branch, repo };
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

  async #refExists(repo: string, ref: string): Promise<boolean> {
    return (await this.#commitOf(repo, ref)) !== null;
  }

  /** The commit `ref` points at in `repo`, or null when there is none. */
  async #commitOf(repo: string, ref: string): Promise<string | null> {
    const result = await this.#runGit(['-C', repo, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    return result.code === 0 ? result.stdout.trim() : null;
  }

  async #revParse(repo: string, ref: string): Promise<string> {
    const result = await this.#git(['-C', repo, 'rev-parse', '--verify', `${ref}^{commit}`]);
    return result.stdout.trim();
  }

  async #setIdentity(repo: string): Promise<void> {
    await this.#git(['-C', repo, 'config', 'user.name', GIT_USER_NAME]);
    await this.#git(['-C', repo, 'config', 'user.email', GIT_USER_EMAIL]);
  }

  /**
   * A command that talks to the rig (fetch, push). A private rig's runs through its credentials
   * (./rig-git-auth.ts: git_auth_failed when the host keeps refusing or no token can be had).
   */
  async #remote(rig: RigRef, args: string[]): Promise<GitResult> {
    if (rig.auth === 'none') return this.#runGit(args);
    if (this.#auth === null) {
      throw new GastownError('git_auth_failed', `rig ${rig.id} needs git credentials (auth ${rig.auth}) and this container has no git credential broker`);
    }
    return this.#auth.run(this.#runGit, rig, args);
  }

  async #remoteOk(rig: RigRef, args: string[]): Promise<GitResult> {
    const result = await this.#remote(rig, args);
    if (result.code !== 0) throw new GitCommandError(subcommandOf(args), result.code, result.stderr);
    return result;
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
