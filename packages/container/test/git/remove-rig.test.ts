/**
 * CliGitWorkspace.removeRig with real git in a temp dir: a deleted rig's mirror and the given
 * agents' repositories go; another rig's and other agents' stay usable; hostile ids remove
 * nothing; it waits for the rig's queued git work.
 */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf, type RigRef } from '@gastown/protocol';
import { CliGitWorkspace } from '../../src/git';
import { createGitFixture, silentLogger, type GitFixture } from './fixtures';

const POLECAT = 'ag_polecat01';
const REFINERY = 'ag_refinery1';
const OTHER_POLECAT = 'ag_polecat02';
const BEAD = 'bd_bead0001';

let fx: GitFixture;
let ws: CliGitWorkspace;
let otherRig: RigRef;

beforeEach(async () => {
  fx = await createGitFixture();
  ws = await CliGitWorkspace.create({ dataDir: fx.dataDir, logger: silentLogger });
  otherRig = { ...fx.rig, id: 'rig_other01', name: 'other' };
});
afterEach(async () => {
  await fx.cleanup();
});

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function codeOfRejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return codeOf(err, 'internal');
  }
  throw new Error('expected a rejection');
}

describe('CliGitWorkspace.removeRig', () => {
  it("removes the rig's mirror and its agents' worktrees and clones; another rig and its agents stay usable", async () => {
    const polecat = await ws.createWorktree(fx.rig, POLECAT, BEAD);
    await fx.commitIn(polecat.path, { 'work.txt': 'uncommitted no more\n' }, 'polecat work');
    const refinery = await ws.createClone(fx.rig, REFINERY);
    const other = await ws.createWorktree(otherRig, OTHER_POLECAT, BEAD);
    const mirror = ws.mirrorPath(fx.rig.id);
    expect(await exists(mirror)).toBe(true);

    expect(await ws.removeRig(fx.rig.id, [POLECAT, REFINERY])).toBe(3);

    for (const path of [mirror, polecat.path, refinery]) expect(await exists(path), path).toBe(false);
    expect(await readdir(join(fx.dataDir, 'mirrors'))).toEqual([`${otherRig.id}.git`]);
    expect(await readdir(join(fx.dataDir, 'worktrees'))).toEqual([OTHER_POLECAT]);
    // the other rig still works: its agent's repository and a merge through its mirror
    expect(await fx.git(['-C', other.path, 'status', '--porcelain'])).toBe('');
    const work = await fx.commitIn(other.path, { 'other.txt': 'other rig\n' }, 'other work');
    await ws.pushBranch(otherRig, other.path, other.branch);
    const merged = await ws.merge(otherRig, other.branch, 'Merge other work', work);
    expect(merged.outcome).toBe('merged');
    // the origin itself is never touched: the rig's branches live on at its git host
    expect(await fx.git(['-C', fx.originPath, 'rev-parse', '--verify', 'refs/heads/main'])).toMatch(/^[0-9a-f]{40}$/);
  });

  it('is idempotent: a second call, or a rig that never had a workspace here, removes nothing', async () => {
    await ws.createWorktree(fx.rig, POLECAT, BEAD);
    expect(await ws.removeRig(fx.rig.id, [POLECAT])).toBe(2);
    expect(await ws.removeRig(fx.rig.id, [POLECAT])).toBe(0);
    expect(await ws.removeRig('rig_never01', [OTHER_POLECAT])).toBe(0);
  });

  it('runs after the git work already queued for the rig (a worktree being created is removed too)', async () => {
    const creating = ws.createWorktree(fx.rig, POLECAT, BEAD);
    const removing = ws.removeRig(fx.rig.id, [POLECAT]);
    const created = await creating;
    expect(await removing).toBe(2);
    expect(await exists(created.path)).toBe(false);
    expect(await exists(ws.mirrorPath(fx.rig.id))).toBe(false);
  });

  it.each([
    { name: 'rig id with a path escape', rigId: '../mirrors', agentIds: [POLECAT] },
    { name: 'rig id naming a nested path', rigId: 'rig_abc123/../../data', agentIds: [POLECAT] },
    { name: 'empty rig id', rigId: '', agentIds: [POLECAT] },
    { name: 'agent id with a path escape', rigId: 'rig_abc123', agentIds: [POLECAT, '../worktrees'] },
    { name: 'agent id naming the data dir', rigId: 'rig_abc123', agentIds: ['..'] },
  ])('$name → validation_failed, nothing removed', async ({ rigId, agentIds }) => {
    const polecat = await ws.createWorktree(fx.rig, POLECAT, BEAD);
    expect(await codeOfRejection(ws.removeRig(rigId, agentIds))).toBe('validation_failed');
    expect(await exists(ws.mirrorPath(fx.rig.id))).toBe(true);
    expect(await exists(polecat.path)).toBe(true);
    expect((await readdir(fx.dataDir)).sort()).toEqual(expect.arrayContaining(['mirrors', 'worktrees']));
  });
});
