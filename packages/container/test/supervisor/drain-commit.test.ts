/**
 * commitWorkInProgress against real git repositories, with a runner that runs the command
 * directly (the sandboxed runner of a real run is ServeRuntime.runAsAgent).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commitWorkInProgress, type RunsAsAgent } from '../../src/supervisor/drain-commit';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const direct: RunsAsAgent = {
  runAsAgent: (file, args, options) =>
    new Promise((resolve) => {
      execFile(
        file,
        args,
        { cwd: options.cwd, timeout: options.timeoutMs, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env } },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    }),
};

function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drain-commit-'));
  dirs.push(dir);
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
  git('init', '--quiet', '--initial-branch', 'gt/ag_test0001/bd_test0001');
  writeFileSync(join(dir, 'README.md'), 'base\n');
  git('add', 'README.md');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', 'base');
  return dir;
}

const input = (workdir: string) => ({
  workdir,
  message: 'gastown: work in progress saved when the container drained',
  author: { name: 'polecat-1', email: 'ag_test0001@agents.gastown.invalid' },
  timeoutMs: 10_000,
});

const gitIn = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();

describe('commitWorkInProgress', () => {
  it('commits new, changed and deleted files on the current branch, as the agent identity', async () => {
    const dir = repo();
    writeFileSync(join(dir, 'README.md'), 'changed\n');
    writeFileSync(join(dir, 'new.txt'), 'half-done\n');
    const before = gitIn(dir, 'rev-parse', 'HEAD');
    expect(await commitWorkInProgress(direct, input(dir))).toEqual({ committed: true });
    expect(gitIn(dir, 'rev-parse', 'HEAD^')).toBe(before);
    expect(gitIn(dir, 'status', '--porcelain')).toBe('');
    expect(gitIn(dir, 'show', 'HEAD:new.txt')).toBe('half-done');
    expect(gitIn(dir, 'log', '-1', '--format=%an <%ae>|%s')).toBe(
      'polecat-1 <ag_test0001@agents.gastown.invalid>|gastown: work in progress saved when the container drained',
    );
    expect(gitIn(dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('gt/ag_test0001/bd_test0001');
  });

  it('a clean worktree: no commit', async () => {
    const dir = repo();
    const before = gitIn(dir, 'rev-parse', 'HEAD');
    expect(await commitWorkInProgress(direct, input(dir))).toEqual({ committed: false, reason: 'clean', detail: 'nothing to commit' });
    expect(gitIn(dir, 'rev-parse', 'HEAD')).toBe(before);
  });

  it("never runs the repository's hooks (a failing pre-commit hook neither runs nor blocks)", async () => {
    const dir = repo();
    const marker = join(dir, '..', `${dir.split('/').at(-1)}-hook-ran`);
    const hook = join(dir, '.git', 'hooks', 'pre-commit');
    writeFileSync(hook, `#!/bin/sh\ntouch ${marker}\nexit 1\n`);
    chmodSync(hook, 0o755);
    gitIn(dir, 'config', 'core.hooksPath', join(dir, '.git', 'hooks'));
    writeFileSync(join(dir, 'new.txt'), 'x\n');
    expect(await commitWorkInProgress(direct, input(dir))).toEqual({ committed: true });
    expect(existsSync(marker)).toBe(false);
  });

  it('a directory that is not a repository: failed, with git’s reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drain-commit-norepo-'));
    dirs.push(dir);
    const outcome = await commitWorkInProgress(direct, input(dir));
    expect(outcome).toMatchObject({ committed: false, reason: 'failed' });
    expect(outcome.committed === false && outcome.detail).toMatch(/git add exited 128/);
  });
});
