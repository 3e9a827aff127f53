/** Local git repositories for rigs: a bare "origin" with an initial commit on its default branch. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Gastown Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@gastown.local',
  GIT_COMMITTER_NAME: 'Gastown Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@gastown.local',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
};

export function git(args: string[], cwd?: string): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, ...GIT_ENV, HOME: process.env.HOME ?? '/tmp' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export interface RigRepo {
  /** Absolute path of the bare repository (a valid rig `gitUrl`). */
  path: string;
  defaultBranch: string;
  initialCommit: string;
}

/** `<dir>/<name>.git`: bare, one commit on `defaultBranch` with a README. */
export function createRigRepo(dir: string, name = 'demo-rig', defaultBranch = 'main'): RigRepo {
  mkdirSync(dir, { recursive: true });
  const bare = join(dir, `${name}.git`);
  git(['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, bare]);
  const work = mkdtempSync(join(dir, 'seed-'));
  try {
    git(['init', '--quiet', `--initial-branch=${defaultBranch}`, work]);
    writeFileSync(join(work, 'README.md'), `# ${name}\n\nA rig created by the Gastown test kit.\n`);
    git(['add', 'README.md'], work);
    git(['commit', '--quiet', '-m', 'Initial commit'], work);
    git(['push', '--quiet', bare, `HEAD:refs/heads/${defaultBranch}`], work);
    return { path: bare, defaultBranch, initialCommit: git(['rev-parse', 'HEAD'], work) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface CommitInfo {
  sha: string;
  subject: string;
  author: string;
}

/** Commits reachable from `branch` of a (bare) repository, newest first. */
export function commitsOn(repo: string, branch: string): CommitInfo[] {
  const out = git(['--git-dir', repo, 'log', '--format=%H%x1f%s%x1f%an', branch]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha, subject, author] = line.split('\x1f');
      return { sha: sha!, subject: subject ?? '', author: author ?? '' };
    });
}

/** Paths in the tree of `branch`. */
export function filesOn(repo: string, branch: string): string[] {
  return git(['--git-dir', repo, 'ls-tree', '-r', '--name-only', branch]).split('\n').filter(Boolean);
}

/** Content of `path` on `branch`. */
export function fileOn(repo: string, branch: string, path: string): string {
  return git(['--git-dir', repo, 'show', `${branch}:${path}`]);
}

/** Branch names of a repository. */
export function branchesOf(repo: string): string[] {
  return git(['--git-dir', repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/']).split('\n').filter(Boolean);
}

/** True when `sha` is reachable from `branch` (the branch "contains" the commit). */
export function branchContains(repo: string, branch: string, sha: string): boolean {
  try {
    git(['--git-dir', repo, 'merge-base', '--is-ancestor', sha, branch]);
    return true;
  } catch {
    return false;
  }
}
