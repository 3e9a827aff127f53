import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliGitWorkspace, type GitRunner } from '../../src/git';
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

async function originSha(ref: string): Promise<string> {
  return fx.git(['-C', fx.originPath, 'rev-parse', ref]);
}

describe('CliGitWorkspace', () => {
  it('lays out a bare mirror with remote-tracking refs of the rig', async () => {
    const mirror = await ws.ensureMirror(fx.rig);
    expect(mirror).toBe(join(fx.dataDir, 'mirrors', 'rig_abc123.git'));
    expect(await fx.git(['-C', mirror, 'rev-parse', '--is-bare-repository'])).toBe('true');
    expect(await fx.git(['-C', mirror, 'rev-parse', 'refs/remotes/origin/main'])).toBe(await originSha('main'));
  });

  it('worktree + commit + push + merge: origin main contains the commit in a merge commit', async () => {
    const { path, branch } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    expect(path).toBe(join(fx.dataDir, 'worktrees', AGENT));
    expect(branch).toBe(BRANCH);
    expect(await fx.git(['-C', path, 'symbolic-ref', '--short', 'HEAD'])).toBe(BRANCH);

    const work = await fx.commitIn(path, { 'feature.txt': 'feature\n' }, 'add feature');
    await ws.pushBranch(fx.rig, path, branch);
    expect(await originSha(`refs/heads/${BRANCH}`)).toBe(work);

    const before = await originSha('main');
    const result = await ws.merge(fx.rig, branch, 'Merge feature (bd_bead0001)', work);
    expect(result.outcome).toBe('merged');
    if (result.outcome !== 'merged') return;
    expect(await originSha('main')).toBe(result.commitSha);
    const parents = (await fx.git(['-C', fx.originPath, 'rev-list', '--parents', '-n', '1', result.commitSha])).split(' ');
    expect(parents.slice(1)).toEqual([before, work]);
    expect(await fx.git(['-C', fx.originPath, 'log', '-1', '--format=%s%n%an <%ae>', 'main'])).toBe(
      'Merge feature (bd_bead0001)\nGastown <agents@gastown.local>',
    );
    expect(await fx.git(['-C', fx.originPath, 'show', 'main:feature.txt'])).toBe('feature');
    // the temporary worktree is gone
    expect(await readdir(join(fx.dataDir, 'tmp'))).toEqual([]);
  });

  it('conflict: returns the conflicting files, leaves origin main and the branch intact, removes the temp worktree', async () => {
    const { path, branch } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const work = await fx.commitIn(path, { 'shared.txt': 'polecat version\n', 'other.txt': 'x\n' }, 'polecat change');
    await ws.pushBranch(fx.rig, path, branch);
    const mainTip = await fx.commitToOrigin('main', { 'shared.txt': 'main version\n' }, 'conflicting change on main');

    const result = await ws.merge(fx.rig, branch, 'Merge it', work);
    expect(result).toEqual({ outcome: 'conflict', files: ['shared.txt'], message: expect.stringContaining('shared.txt') });
    expect(await originSha('main')).toBe(mainTip);
    expect(await originSha(`refs/heads/${BRANCH}`)).toBe(work);
    const mirror = await ws.ensureMirror(fx.rig);
    // the container's copy of the branch (agents have their own repositories)
    expect(await fx.git(['-C', mirror, 'rev-parse', `refs/gastown/review/${BRANCH}`])).toBe(work);
    expect(await readdir(join(fx.dataDir, 'tmp'))).toEqual([]);
    const worktrees = await fx.git(['-C', mirror, 'worktree', 'list', '--porcelain']);
    expect(worktrees).not.toContain('/tmp/merge-');
    // the agent's own worktree still holds its work, clean
    expect(await fx.git(['-C', path, 'status', '--porcelain'])).toBe('');
    expect(await readFile(join(path, 'shared.txt'), 'utf8')).toBe('polecat version\n');
  });

  it('retries once when the default branch moves between merge and push', async () => {
    const { path, branch } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const work = await fx.commitIn(path, { 'feature.txt': 'f\n' }, 'feature');
    await ws.pushBranch(fx.rig, path, branch);

    let raced: string | null = null;
    const pushes: string[] = [];
    const racingRunner: GitRunner = async (args, options) => {
      if (args.includes('push') && args.at(-1) === 'HEAD:refs/heads/main') {
        pushes.push(args.at(-1)!);
        if (raced === null) raced = await fx.commitToOrigin('main', { 'elsewhere.txt': 'e\n' }, 'someone else pushed');
      }
      return fx.runGit(args, options);
    };
    const racing = new CliGitWorkspace({ dataDir: fx.dataDir, runGit: racingRunner, logger: silentLogger });
    const result = await racing.merge(fx.rig, branch, 'Merge feature', work);
    expect(result.outcome).toBe('merged');
    if (result.outcome !== 'merged') return;
    expect(pushes).toHaveLength(2);
    expect(await originSha('main')).toBe(result.commitSha);
    const parents = (await fx.git(['-C', fx.originPath, 'rev-list', '--parents', '-n', '1', result.commitSha])).split(' ');
    expect(parents.slice(1)).toEqual([raced, work]);
  });

  it('serialises merges per rig: two concurrent merges both land', async () => {
    const a = await ws.createWorktree(fx.rig, 'ag_polecat01', 'bd_bead0001');
    const b = await ws.createWorktree(fx.rig, 'ag_polecat02', 'bd_bead0002');
    const shaA = await fx.commitIn(a.path, { 'a.txt': 'a\n' }, 'a');
    const shaB = await fx.commitIn(b.path, { 'b.txt': 'b\n' }, 'b');
    await Promise.all([ws.pushBranch(fx.rig, a.path, a.branch), ws.pushBranch(fx.rig, b.path, b.branch)]);
    const [ra, rb] = await Promise.all([ws.merge(fx.rig, a.branch, 'merge a', shaA), ws.merge(fx.rig, b.branch, 'merge b', shaB)]);
    expect([ra.outcome, rb.outcome]).toEqual(['merged', 'merged']);
    expect(await fx.git(['-C', fx.originPath, 'show', 'main:a.txt'])).toBe('a');
    expect(await fx.git(['-C', fx.originPath, 'show', 'main:b.txt'])).toBe('b');
  });

  it('merging an unknown branch fails without touching origin', async () => {
    const before = await originSha('main');
    const result = await ws.merge(fx.rig, 'gt/ag_nobody01/bd_none0001', 'merge', 'c'.repeat(40));
    expect(result).toEqual({ outcome: 'failed', message: expect.stringContaining('not found') });
    expect(await originSha('main')).toBe(before);
  });

  it('createWorktree is idempotent and resumes a branch pushed before a container restart', async () => {
    const first = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const work = await fx.commitIn(first.path, { 'w.txt': 'w\n' }, 'work');
    expect(await ws.createWorktree(fx.rig, AGENT, BEAD)).toEqual(first);
    expect(await fx.git(['-C', first.path, 'rev-parse', 'HEAD'])).toBe(work);
    await ws.pushBranch(fx.rig, first.path, first.branch);

    // a restarted container: empty data dir
    const restarted = await CliGitWorkspace.create({ dataDir: join(fx.root, 'data-after-restart'), logger: silentLogger });
    const resumed = await restarted.createWorktree(fx.rig, AGENT, BEAD);
    expect(await fx.git(['-C', resumed.path, 'rev-parse', 'HEAD'])).toBe(work);
    expect(await fx.git(['-C', resumed.path, 'symbolic-ref', '--short', 'HEAD'])).toBe(BRANCH);
  });

  it('createClone gives the refinery a clone of origin with every pushed branch', async () => {
    const { path, branch } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    await fx.commitIn(path, { 'f.txt': 'f\n' }, 'f');
    await ws.pushBranch(fx.rig, path, branch);
    const clone = await ws.createClone(fx.rig, 'ag_refinery1');
    expect(clone).toBe(join(fx.dataDir, 'clones', 'ag_refinery1'));
    expect(await fx.git(['-C', clone, 'rev-parse', `refs/remotes/origin/${BRANCH}`])).toBe(await originSha(`refs/heads/${BRANCH}`));
    expect(await ws.createClone(fx.rig, 'ag_refinery1')).toBe(clone);
  });

  it('remove deletes the worktree but keeps its submitted branch in the mirror', async () => {
    const { path, branch } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const work = await fx.commitIn(path, { 'f.txt': 'f\n' }, 'f');
    expect(await ws.submitBranch(fx.rig, path, branch)).toBe(work);
    await ws.remove(path);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    const mirror = ws.mirrorPath(fx.rig.id);
    expect(await fx.git(['-C', mirror, 'rev-parse', `refs/gastown/review/${branch}`])).toBe(work);
    await expect(ws.remove(fx.originPath)).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(ws.remove(mirror)).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('never writes a credential into any git config or remote URL', async () => {
    const { path, branch } = await ws.createWorktree(fx.rig, AGENT, BEAD);
    const work = await fx.commitIn(path, { 'f.txt': 'f\n' }, 'f');
    await ws.pushBranch(fx.rig, path, branch);
    await ws.merge(fx.rig, branch, 'merge', work);
    const clone = await ws.createClone(fx.rig, 'ag_refinery1');
    const tokenLike = /(gtr_|eyJ[A-Za-z0-9_-]{5,}|ghp_|github_pat_|bearer|password|token|secret|apikey|api_key|extraheader|:\/\/[^/\s]*@)/i;
    const mirror = ws.mirrorPath(fx.rig.id);
    for (const repo of [mirror, path, clone]) {
      const listing = await fx.git(['-C', repo, 'config', '--list', '--show-origin']);
      // only the mirror names the rig; an agent repository's origin is the mirror
      expect(listing).toContain('remote.origin.url=' + (repo === mirror ? fx.originPath : mirror));
      if (repo !== mirror) expect(listing).not.toContain(fx.originPath);
      expect(listing).not.toMatch(tokenLike);
    }
    const globalConfig = await readFile(join(fx.dataDir, 'git-home', '.gitconfig'), 'utf8');
    expect(globalConfig).not.toMatch(tokenLike);
  });
});
