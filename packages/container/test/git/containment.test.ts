/**
 * Git that agents cannot subvert: an agent's repository is its own (refs, config, hooks), work
 * leaves it only through the container's copy (submitBranch), and a merge merges exactly the
 * approved commit — or reports changed_since_review and leaves the default branch alone.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, lchown, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliGitWorkspace } from '../../src/git';
import { createGitFixture, silentLogger, type GitFixture } from './fixtures';

const AGENT = 'ag_polecat01';
const BEAD = 'bd_bead0001';
const BRANCH = `gt/${AGENT}/${BEAD}`;

let fx: GitFixture;
let ws: CliGitWorkspace;

beforeEach(async () => {
  fx = await createGitFixture();
  ws = await CliGitWorkspace.create({ dataDir: fx.dataDir, logger: silentLogger });
});
afterEach(async () => {
  await fx.cleanup();
});

/** Every ref of a repository with its target, as one string. */
function refsOf(repo: string): Promise<string> {
  return fx.git(['-C', repo, 'for-each-ref', '--format=%(refname) %(objectname)']);
}

const originSha = (ref: string) => fx.git(['-C', fx.originPath, 'rev-parse', ref]);

describe("an agent's repository is its own", () => {
  it('moving its refs or pushing to its origin changes neither the mirror nor the rig', async () => {
    const { path } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const mirror = ws.mirrorPath(fx.rig.id);
    const work = await fx.commitIn(path, { 'evil.txt': 'evil\n' }, 'agent work');
    await ws.submitBranch(fx.rig, path, BRANCH);
    const mirrorBefore = await refsOf(mirror);
    const originBefore = await refsOf(fx.originPath);

    // the agent's own repository is no worktree of the mirror: a real .git dir, origin = the mirror
    expect(await fx.git(['-C', path, 'rev-parse', '--path-format=absolute', '--git-common-dir'])).toBe(join(path, '.git'));
    expect(await fx.git(['-C', path, 'remote', 'get-url', 'origin'])).toBe(mirror);

    // everything the agent can do with git to refs it can name
    await fx.git(['-C', path, 'update-ref', 'refs/heads/main', work]);
    await fx.git(['-C', path, 'update-ref', 'refs/remotes/origin/main', work]);
    await fx.git(['-C', path, 'update-ref', `refs/gastown/review/${BRANCH}`, work]);
    for (const refspec of [
      'HEAD:refs/heads/main',
      `HEAD:refs/gastown/review/gt/${AGENT}/bd_other01`,
      '+HEAD:refs/remotes/origin/main',
      `HEAD:refs/heads/${BRANCH}`,
    ]) {
      const pushed = await fx.runGit(['-C', path, 'push', 'origin', refspec]);
      expect({ refspec, code: pushed.code }).toEqual({ refspec, code: 1 });
      expect(pushed.stderr).toContain('pre-receive hook declined');
    }

    expect(await refsOf(mirror)).toBe(mirrorBefore);
    expect(await refsOf(fx.originPath)).toBe(originBefore);
    // the next sync does not pick anything up from the agent either
    await ws.ensureMirror(fx.rig);
    expect(await fx.git(['-C', mirror, 'rev-parse', 'refs/remotes/origin/main'])).toBe(await originSha('main'));
  });

  it('a refinery clone is a fresh copy of the mirror on every start, with the submitted branches as review/*', async () => {
    const { path } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const work = await fx.commitIn(path, { 'f.txt': 'f\n' }, 'f');
    await ws.submitBranch(fx.rig, path, BRANCH);
    const clone = await ws.createClone(fx.rig, 'ag_refinery1');
    expect(await fx.git(['-C', clone, 'remote', 'get-url', 'origin'])).toBe(ws.mirrorPath(fx.rig.id));
    expect(await fx.git(['-C', clone, 'rev-parse', `refs/remotes/review/${BRANCH}`])).toBe(work);
    expect(await fx.git(['-C', clone, 'rev-parse', 'HEAD'])).toBe(await originSha('main'));

    // whatever the refinery did to its repository is gone at its next start
    await fx.git(['-C', clone, 'update-ref', 'refs/remotes/origin/main', work]);
    await writeFile(join(clone, '.git', 'hooks', 'post-checkout'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const again = await ws.createClone(fx.rig, 'ag_refinery1');
    expect(await fx.git(['-C', again, 'rev-parse', 'refs/remotes/origin/main'])).toBe(await originSha('main'));
    expect((await readdir(join(again, '.git', 'hooks'))).filter((f) => !f.endsWith('.sample'))).toEqual([]);
  });

  it("submitBranch refuses a branch that is not the repository owner's, before any git call", async () => {
    const { path } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    await expect(ws.submitBranch(fx.rig, path, `gt/ag_other001/${BEAD}`)).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(ws.submitBranch(fx.rig, path, 'main')).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(ws.submitBranch(fx.rig, ws.mirrorPath(fx.rig.id), BRANCH)).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('a deleted branch cannot be submitted: conflict, and the container keeps its earlier copy', async () => {
    const { path } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const work = await fx.commitIn(path, { 'f.txt': 'f\n' }, 'f');
    await ws.submitBranch(fx.rig, path, BRANCH);
    await fx.git(['-C', path, 'checkout', '--quiet', '--detach']);
    await fx.git(['-C', path, 'branch', '--quiet', '-D', BRANCH]);
    await expect(ws.submitBranch(fx.rig, path, BRANCH)).rejects.toMatchObject({ code: 'conflict' });
    expect(await fx.git(['-C', ws.mirrorPath(fx.rig.id), 'rev-parse', `refs/gastown/review/${BRANCH}`])).toBe(work);
  });
});

describe('the merge merges exactly the reviewed commit', () => {
  it('a submitted, reviewed commit is merged', async () => {
    const { path } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const reviewed = await fx.commitIn(path, { 'feature.txt': 'feature\n' }, 'feature');
    expect(await ws.submitBranch(fx.rig, path, BRANCH)).toBe(reviewed);
    await ws.pushBranch(fx.rig, path, BRANCH, { capture: false });
    const before = await originSha('main');

    const result = await ws.merge(fx.rig, BRANCH, 'Merge feature', reviewed);
    expect(result).toEqual({ outcome: 'merged', commitSha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    if (result.outcome !== 'merged') return;
    expect(await originSha('main')).toBe(result.commitSha);
    const parents = (await fx.git(['-C', fx.originPath, 'rev-list', '--parents', '-n', '1', result.commitSha])).split(' ');
    expect(parents.slice(1)).toEqual([before, reviewed]);
  });

  it('a branch re-submitted after the review: changed_since_review naming the new tip, main unchanged', async () => {
    const { path } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const reviewed = await fx.commitIn(path, { 'feature.txt': 'reviewed\n' }, 'reviewed');
    await ws.submitBranch(fx.rig, path, BRANCH);
    const later = await fx.commitIn(path, { 'feature.txt': 'changed after the review\n' }, 'sneaky');
    expect(await ws.submitBranch(fx.rig, path, BRANCH)).toBe(later);
    const mainBefore = await originSha('main');

    const result = await ws.merge(fx.rig, BRANCH, 'Merge feature', reviewed);
    expect(result).toEqual({ outcome: 'changed_since_review', branchCommit: later, message: expect.stringContaining(reviewed) });
    expect(await originSha('main')).toBe(mainBefore);
    expect(await readdir(join(fx.dataDir, 'tmp')).catch(() => [])).toEqual([]);
  });

  it("commits the agent makes after submitting are not merged: the container's copy is", async () => {
    const { path } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const reviewed = await fx.commitIn(path, { 'feature.txt': 'reviewed\n' }, 'reviewed');
    await ws.submitBranch(fx.rig, path, BRANCH);
    await fx.commitIn(path, { 'feature.txt': 'not reviewed\n' }, 'after gt_done');
    // the run ends: what it submitted is pushed, not its later commit
    await ws.pushBranch(fx.rig, path, BRANCH, { capture: false });
    expect(await originSha(`refs/heads/${BRANCH}`)).toBe(reviewed);

    const result = await ws.merge(fx.rig, BRANCH, 'Merge feature', reviewed);
    expect(result.outcome).toBe('merged');
    expect(await fx.git(['-C', fx.originPath, 'show', 'main:feature.txt'])).toBe('reviewed');
  });

  it('a commit that is not the branch at all (e.g. the default branch) is refused the same way', async () => {
    const { path } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const work = await fx.commitIn(path, { 'feature.txt': 'x\n' }, 'x');
    await ws.submitBranch(fx.rig, path, BRANCH);
    const main = await originSha('main');
    expect(await ws.merge(fx.rig, BRANCH, 'Merge', main)).toMatchObject({ outcome: 'changed_since_review', branchCommit: work });
    expect(await originSha('main')).toBe(main);
  });

  it('pushBranch without capture refuses a branch that was never submitted', async () => {
    const { path } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    await expect(ws.pushBranch(fx.rig, path, BRANCH, { capture: false })).rejects.toMatchObject({ code: 'not_found' });
    await expect(fx.git(['-C', fx.originPath, 'rev-parse', '--verify', `refs/heads/${BRANCH}`])).rejects.toThrow();
  });
});

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

describe.skipIf(!isRoot)('an agent of another uid (root runs the container)', () => {
  const asNobody = promisify(execFile);

  it('commits in its own repository, cannot push into the mirror; the container copies its branch without running git in it', async () => {
    await chmod(fx.root, 0o755); // mkdtemp's 0700 would keep the other uid out of everything
    const { path } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const mirror = ws.mirrorPath(fx.rig.id);
    const home = join(fx.root, 'nobody-home');
    await mkdir(home, { recursive: true });
    for (const dir of [home, path]) await chownTree(dir, NOBODY);
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'a',
      GIT_AUTHOR_EMAIL: 'a@x',
      GIT_COMMITTER_NAME: 'a',
      GIT_COMMITTER_EMAIL: 'a@x',
    };
    const agentGit = (args: string[]) =>
      asNobody('git', ['-C', path, ...args], { uid: NOBODY, gid: NOBODY, env }).then(
        (r) => ({ code: 0, out: r.stdout.trim(), err: r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, out: e.stdout ?? '', err: e.stderr ?? '' }),
      );
    const mirrorBefore = await refsOf(mirror);

    await writeFile(join(path, 'work.txt'), 'agent\n');
    await chown(join(path, 'work.txt'), NOBODY, NOBODY);
    expect((await agentGit(['add', 'work.txt'])).code).toBe(0);
    expect((await agentGit(['commit', '-qm', 'agent work'])).code).toBe(0);
    const head = (await agentGit(['rev-parse', 'HEAD'])).out;
    // its origin is fetchable (uploadpack trusts the container's mirror) but never writable
    expect((await agentGit(['fetch', '--quiet', 'origin'])).code).toBe(0);
    const pushed = await agentGit(['push', 'origin', 'HEAD:refs/heads/main']);
    expect(pushed.code).not.toBe(0);
    expect(await refsOf(mirror)).toBe(mirrorBefore);

    // the container's git refuses to work inside the agent's repository (dubious ownership) …
    const inside = await fx.runGit(['-C', path, 'status', '--porcelain']);
    expect(inside.stderr).toContain('dubious ownership');
    // … yet copies the branch out of it
    expect(await ws.submitBranch(fx.rig, path, BRANCH)).toBe(head);
    await ws.pushBranch(fx.rig, path, BRANCH, { capture: false });
    expect(await ws.merge(fx.rig, BRANCH, 'Merge agent work', head)).toMatchObject({ outcome: 'merged' });
    expect(await fx.git(['-C', fx.originPath, 'show', 'main:work.txt'])).toBe('agent');
  });
});

async function chownTree(dir: string, uid: number): Promise<void> {
  await chown(dir, uid, uid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const child = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(child, uid);
    else await lchown(child, uid, uid);
  }
}
