import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RigRef } from '@gastown/protocol';
import type { Logger } from '../../src/log';
import { createExecGitRunner, gitEnvironment, prepareGitHome, type GitRunner } from '../../src/git';

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** A temp dir holding a bare "origin" with one commit on main, and a runner for the test's own git work. */
export interface GitFixture {
  root: string;
  dataDir: string;
  originPath: string;
  rig: RigRef;
  /** Runs git for the test itself and throws on a non-zero exit. */
  git(args: string[], cwd?: string): Promise<string>;
  runGit: GitRunner;
  /** Commit `files` on `branch` of origin through a scratch clone; returns the new sha. */
  commitToOrigin(branch: string, files: Record<string, string>, message: string): Promise<string>;
  /** Write `files` into the checkout at `repo`, commit everything on its current branch; returns the new sha. */
  commitIn(repo: string, files: Record<string, string>, message: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createGitFixture(): Promise<GitFixture> {
  const root = await mkdtemp(join(tmpdir(), 'gastown-git-test-'));
  const home = join(root, 'test-home');
  await prepareGitHome(home);
  const runGit = createExecGitRunner({ env: gitEnvironment(home, process.env.PATH) });
  const git = async (args: string[], cwd?: string) => {
    const result = await runGit(args, { cwd });
    if (result.code !== 0) throw new Error(`test git ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout.trim();
  };
  const originPath = join(root, 'origin.git');
  await git(['init', '--quiet', '--bare', '--initial-branch=main', originPath]);
  let scratchCount = 0;
  const commitIn = async (repo: string, files: Record<string, string>, message: string) => {
    for (const [name, content] of Object.entries(files)) await writeFile(join(repo, name), content);
    await git(['-C', repo, 'add', '--all']);
    await git(['-C', repo, 'commit', '--quiet', '-m', message]);
    return git(['-C', repo, 'rev-parse', 'HEAD']);
  };
  const commitToOrigin = async (branch: string, files: Record<string, string>, message: string) => {
    const scratch = join(root, `scratch-${++scratchCount}`);
    await git(['clone', '--quiet', originPath, scratch]);
    const exists = await runGit(['-C', scratch, 'rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}`]);
    if (exists.code === 0) await git(['-C', scratch, 'checkout', '--quiet', '-B', branch, `origin/${branch}`]);
    else await git(['-C', scratch, 'checkout', '--quiet', '--orphan', branch]);
    const sha = await commitIn(scratch, files, message);
    await git(['-C', scratch, 'push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`]);
    await rm(scratch, { recursive: true, force: true });
    return sha;
  };
  await commitToOrigin('main', { 'README.md': '# rig\n', 'shared.txt': 'line one\n' }, 'initial commit');
  return {
    root,
    dataDir: join(root, 'data'),
    originPath,
    rig: { id: 'rig_abc123', name: 'demo', gitUrl: originPath, defaultBranch: 'main', auth: 'none' },
    git,
    runGit,
    commitToOrigin,
    commitIn,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
