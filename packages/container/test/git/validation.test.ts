import { describe, expect, it } from 'vitest';
import type { RigRef } from '@gastown/protocol';
import { CliGitWorkspace, type GitRunner } from '../../src/git';
import { silentLogger } from './fixtures';

const rig: RigRef = { id: 'rig_abc123', name: 'demo', gitUrl: 'https://git.example.com/demo.git', defaultBranch: 'main', auth: 'none' };

function countingWorkspace() {
  const calls: string[][] = [];
  const runGit: GitRunner = async (args) => {
    calls.push([...args]);
    return { code: 0, stdout: '', stderr: '' };
  };
  const ws = new CliGitWorkspace({ dataDir: '/tmp/gastown-validation-test-never-created', runGit, logger: silentLogger });
  return { ws, calls };
}

const HOSTILE_BRANCHES = [
  { name: 'upload-pack option', branch: '--upload-pack=x' },
  { name: 'path escape', branch: '../x' },
  { name: 'shell metacharacters', branch: 'a;rm -rf' },
  { name: 'leading dash', branch: '-x' },
  { name: 'empty', branch: '' },
  { name: 'reflog syntax', branch: 'a@{1}' },
  { name: 'lock suffix', branch: 'main.lock' },
  { name: 'newline', branch: 'a\nb' },
];

describe('git input validation happens before any git call', () => {
  it.each(HOSTILE_BRANCHES)('merge rejects a hostile branch: $name', async ({ branch }) => {
    const { ws, calls } = countingWorkspace();
    await expect(ws.merge(rig, branch, 'msg', 'a'.repeat(40))).rejects.toMatchObject({ code: 'validation_failed' });
    expect(calls).toEqual([]);
  });

  it.each(HOSTILE_BRANCHES)('pushBranch rejects a hostile branch: $name', async ({ branch }) => {
    const { ws, calls } = countingWorkspace();
    await expect(ws.pushBranch(rig, '/tmp/gastown-validation-test-never-created/worktrees/ag_abcdef12', branch)).rejects.toMatchObject({
      code: 'validation_failed',
    });
    expect(calls).toEqual([]);
  });

  it.each(HOSTILE_BRANCHES)('a rig whose default branch is hostile is rejected: $name', async ({ branch }) => {
    const { ws, calls } = countingWorkspace();
    await expect(ws.ensureMirror({ ...rig, defaultBranch: branch })).rejects.toMatchObject({ code: 'validation_failed' });
    expect(calls).toEqual([]);
  });

  it.each([
    { name: 'option injection', gitUrl: '--upload-pack=touch /tmp/pwned' },
    { name: 'ext transport', gitUrl: 'ext::sh -c touch% /tmp/pwned' },
    { name: 'credentials in https URL', gitUrl: 'https://user:ghp_secret@github.com/o/r.git' },
    { name: 'token as https user', gitUrl: 'https://ghp_secret@github.com/o/r.git' },
    { name: 'relative path', gitUrl: 'relative/repo' },
    { name: 'dotdot', gitUrl: '/srv/../etc' },
  ])('rejects a hostile git URL: $name', async ({ gitUrl }) => {
    const { ws, calls } = countingWorkspace();
    await expect(ws.ensureMirror({ ...rig, gitUrl })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(ws.createClone({ ...rig, gitUrl }, 'ag_refinery1')).rejects.toMatchObject({ code: 'validation_failed' });
    expect(calls).toEqual([]);
  });

  it.each([
    { name: 'hostile agent id', agentId: '../../etc', beadId: 'bd_bead0001' },
    { name: 'dash agent id', agentId: '--force', beadId: 'bd_bead0001' },
    { name: 'hostile bead id', agentId: 'ag_polecat01', beadId: 'x;y' },
  ])('createWorktree rejects $name', async ({ agentId, beadId }) => {
    const { ws, calls } = countingWorkspace();
    await expect(ws.createWorktree(rig, agentId, beadId)).rejects.toMatchObject({ code: 'validation_failed' });
    expect(calls).toEqual([]);
  });

  it.each([
    { name: 'short sha', commit: 'abc123' },
    { name: 'upper case', commit: 'A'.repeat(40) },
    { name: 'option', commit: '--upload-pack=x' },
    { name: 'ref name', commit: 'refs/heads/main' },
    { name: 'revision expression', commit: `${'a'.repeat(40)}^` },
  ])('merge rejects an approved commit that is not a full commit id: $name', async ({ commit }) => {
    const { ws, calls } = countingWorkspace();
    await expect(ws.merge(rig, 'gt/ag_polecat01/bd_bead0001', 'msg', commit)).rejects.toMatchObject({ code: 'validation_failed' });
    expect(calls).toEqual([]);
  });

  it.each(HOSTILE_BRANCHES)('submitBranch rejects a hostile branch: $name', async ({ branch }) => {
    const { ws, calls } = countingWorkspace();
    await expect(ws.submitBranch(rig, '/tmp/gastown-validation-test-never-created/worktrees/ag_abcdef12', branch)).rejects.toMatchObject({
      code: 'validation_failed',
    });
    expect(calls).toEqual([]);
  });

  it.each([
    { name: "another agent's branch", workdir: '/tmp/gastown-validation-test-never-created/worktrees/ag_abcdef12', branch: 'gt/ag_other001/bd_bead0001' },
    { name: 'not a polecat branch', workdir: '/tmp/gastown-validation-test-never-created/worktrees/ag_abcdef12', branch: 'main' },
    {
      name: 'a clone, not a polecat repository',
      workdir: '/tmp/gastown-validation-test-never-created/clones/ag_abcdef12',
      branch: 'gt/ag_abcdef12/bd_bead0001',
    },
    { name: 'the mirror', workdir: '/tmp/gastown-validation-test-never-created/mirrors/rig_abc123.git', branch: 'gt/ag_abcdef12/bd_bead0001' },
    { name: 'outside the data dir', workdir: '/etc', branch: 'gt/ag_abcdef12/bd_bead0001' },
  ])('submitBranch and pushBranch need the repository of the branch owner: $name', async ({ workdir, branch }) => {
    const { ws, calls } = countingWorkspace();
    await expect(ws.submitBranch(rig, workdir, branch)).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(ws.pushBranch(rig, workdir, branch)).rejects.toMatchObject({ code: 'validation_failed' });
    expect(calls).toEqual([]);
  });

  it('pushBranch refuses a workdir outside the data dir', async () => {
    const { ws, calls } = countingWorkspace();
    await expect(ws.pushBranch(rig, '/etc', 'gt/ag_polecat01/bd_bead0001')).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(ws.pushBranch(rig, '/tmp/gastown-validation-test-never-created/../x', 'gt/ag_polecat01/bd_bead0001')).rejects.toMatchObject({
      code: 'validation_failed',
    });
    expect(calls).toEqual([]);
  });
});
