/**
 * The fake GitHub's repositories: bare repos under `<root>/<owner>/<name>.git`, created with an
 * initial commit, and the few git operations the REST side needs (resolve a branch, merge one
 * branch into another with a real merge commit). Owner and name lookups are case-insensitive,
 * like GitHub's.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GastownError } from '@gastown/protocol';
import { repoKey } from './tokens';
import type { CreateRepoOptions, FakeRepo } from './types';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const BRANCH = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/;

const GITHUB_IDENTITY = {
  GIT_AUTHOR_NAME: 'GitHub',
  GIT_AUTHOR_EMAIL: 'noreply@github.com',
  GIT_COMMITTER_NAME: 'GitHub',
  GIT_COMMITTER_EMAIL: 'noreply@github.com',
};

/** A clean environment for the git the fake runs itself (no user or system config). */
export function gitEnv(homeDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: homeDir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    LANG: 'C',
    ...GITHUB_IDENTITY,
    ...extra,
  };
}

export type MergeResult = { ok: true; sha: string } | { ok: false; reason: 'missing_branch' | 'conflict' | 'base_moved' };

export class RepoStore {
  private readonly repos = new Map<string, FakeRepo>();
  private nextId = 700_001;
  readonly homeDir: string;

  constructor(
    readonly rootDir: string,
    private readonly baseUrl: () => string,
  ) {
    this.homeDir = join(rootDir, '.home');
    mkdirSync(this.homeDir, { recursive: true });
  }

  create(owner: string, name: string, options: CreateRepoOptions = {}): FakeRepo {
    if (!NAME.test(owner) || !NAME.test(name) || name.toLowerCase().endsWith('.git')) {
      throw new GastownError('validation_failed', 'fake-github: owner and repository names are [A-Za-z0-9_.-], without .git');
    }
    const defaultBranch = options.defaultBranch ?? 'main';
    if (!BRANCH.test(defaultBranch)) throw new GastownError('validation_failed', 'fake-github: bad default branch name');
    const fullName = `${owner}/${name}`;
    if (this.repos.has(repoKey(fullName))) throw new GastownError('conflict', `fake-github: ${fullName} exists`);
    const path = join(this.rootDir, owner, `${name}.git`);
    mkdirSync(dirname(path), { recursive: true });
    this.gitSync(['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, path]);
    this.gitSync(['config', 'http.receivepack', 'true'], path);
    this.seed(path, defaultBranch, options.files ?? { 'README.md': `# ${name}\n\nA repository of the fake GitHub.\n` });
    const repo: FakeRepo = { id: this.nextId++, owner, name, fullName, defaultBranch, path, cloneUrl: `${this.baseUrl()}/${owner}/${name}.git` };
    this.repos.set(repoKey(fullName), repo);
    return repo;
  }

  find(owner: string, name: string): FakeRepo | undefined {
    return this.repos.get(repoKey(`${owner}/${name}`));
  }

  get(owner: string, name: string): FakeRepo {
    const repo = this.find(owner, name);
    if (!repo) throw new GastownError('not_found', `fake-github: no repository ${owner}/${name}`);
    return repo;
  }

  exists = (fullName: string): boolean => this.repos.has(repoKey(fullName));

  /** Tip of `refs/heads/<branch>`, or null when the branch does not exist. */
  async branchSha(repo: FakeRepo, branch: string): Promise<string | null> {
    if (!BRANCH.test(branch)) return null;
    const out = await this.git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], repo.path);
    return out.code === 0 ? out.stdout.trim() : null;
  }

  /** True when `ancestor` is reachable from `descendant`. */
  async isAncestor(repo: FakeRepo, ancestor: string, descendant: string): Promise<boolean> {
    return (await this.git(['merge-base', '--is-ancestor', ancestor, descendant], repo.path)).code === 0;
  }

  /** Merge `head` into `base` with a merge commit (GitHub's "Create a merge commit"), compare-and-swap on base. */
  async merge(repo: FakeRepo, base: string, head: string, message: string): Promise<MergeResult> {
    const baseSha = await this.branchSha(repo, base);
    const headSha = await this.branchSha(repo, head);
    if (!baseSha || !headSha) return { ok: false, reason: 'missing_branch' };
    const tree = await this.git(['merge-tree', '--write-tree', baseSha, headSha], repo.path);
    if (tree.code !== 0) return { ok: false, reason: 'conflict' };
    const treeSha = tree.stdout.split('\n')[0]!.trim();
    const commit = await this.git(['commit-tree', treeSha, '-p', baseSha, '-p', headSha, '-m', message], repo.path);
    if (commit.code !== 0) throw new GastownError('internal', 'fake-github: commit-tree failed');
    const sha = commit.stdout.trim();
    const update = await this.git(['update-ref', `refs/heads/${base}`, sha, baseSha], repo.path);
    return update.code === 0 ? { ok: true, sha } : { ok: false, reason: 'base_moved' };
  }

  /** One commit of `files` on `branch` of the bare repo at `path`, through a temporary index. */
  private seed(path: string, branch: string, files: Record<string, string>): void {
    const work = mkdtempSync(join(this.rootDir, '.seed-'));
    try {
      for (const [file, content] of Object.entries(files)) {
        const target = join(work, file);
        if (!target.startsWith(work + '/')) throw new GastownError('validation_failed', 'fake-github: file path escapes the repository');
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, content);
      }
      const env = { GIT_INDEX_FILE: join(work, '.git-index'), GIT_DIR: path, GIT_WORK_TREE: work };
      this.gitSync(['add', '-A', '--', '.', ':!.git-index'], undefined, env);
      const tree = this.gitSync(['write-tree'], undefined, env);
      const commit = this.gitSync(['commit-tree', tree, '-m', 'Initial commit'], path);
      this.gitSync(['update-ref', `refs/heads/${branch}`, commit], path);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  private gitSync(args: string[], gitDir?: string, extra: Record<string, string> = {}): string {
    return execFileSync('git', gitDir ? ['--git-dir', gitDir, ...args] : args, {
      env: gitEnv(this.homeDir, extra),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  }

  private git(args: string[], gitDir: string): Promise<{ code: number; stdout: string }> {
    return new Promise((resolve) => {
      execFile('git', ['--git-dir', gitDir, ...args], { env: gitEnv(this.homeDir), encoding: 'utf8' }, (error, stdout) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout });
      });
    });
  }
}
