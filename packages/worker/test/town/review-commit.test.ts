/**
 * Containment of git through the control plane: a polecat's gt_done is accepted only for its own
 * branch; the merge request records the commit the container copied; the refinery's approval names
 * the commit it reviewed, the container is asked to merge exactly that commit, and a branch that
 * changed since the review sends the merge request back to review at its new commit.
 */
import { MergeRequestSchema, TOOLS, type Bead } from '@gastown/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, callTool, expectError, ownBranch, setupTown, snapshotTown, spawnAgent, type AgentWithCredentials } from '../helpers';
import { complete, dispatchTown, heartbeat, mergeResult, sendToMayor, startedAgent, townEvents, type DispatchFixture } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';

afterEach(() => {
  vi.useRealTimers();
});

const SUBMITTED = '1'.repeat(40);
const RESUBMITTED = '2'.repeat(40);

async function beadById(f: { userToken: string; town: { id: string } }, id: string): Promise<Bead> {
  const all = (await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as Bead[];
  return all.find((b) => b.id === id)!;
}

describe("a polecat's gt_done is accepted only for its own branch", () => {
  it.each([
    { name: "another polecat's branch", branch: (_p: AgentWithCredentials, other: AgentWithCredentials) => ownBranch(other) },
    { name: 'its own agent id, another bead', branch: (p: AgentWithCredentials) => `gt/${p.agent.id}/bd_someother1` },
    { name: 'the default branch', branch: () => 'main' },
    { name: 'a made-up gt/ branch', branch: () => 'gt/polecat/work' },
  ])('$name → 403 token_scope, nothing changes', async ({ branch }) => {
    const f = await setupTown();
    const bead2 = (await callTool(f.mayor, 'sling', { rigId: f.rig.id, title: 'second' })).body.bead;
    const other = await spawnAgent(f.town.id, { role: 'polecat', rigId: f.rig.id, beadId: bead2.id });
    const before = await snapshotTown(f.town.id);
    expectError(await callTool(f.polecat, 'done', { branch: branch(f.polecat, other), summary: 'not mine', commit: SUBMITTED }), 403, 'token_scope');
    expect(await snapshotTown(f.town.id)).toEqual(before);
    // its own branch is fine
    expect((await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat), commit: SUBMITTED })).status).toBe(200);
  });

  it('the merge request records the submitted commit (gt_list_beads, gt_bead_status show it); a re-submission records the new one', async () => {
    const f = await setupTown();
    const mr = TOOLS.done.result.parse(
      (await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat), summary: 'did it', commit: SUBMITTED })).body,
    ).mergeRequest;
    expect(mr.metadata).toMatchObject({ branch: ownBranch(f.polecat), commit: SUBMITTED });
    const listed = (await callTool(f.refinery, 'list_beads', { status: 'open' })).body.beads as Bead[];
    expect(listed.find((b) => b.id === mr.id)?.metadata.commit).toBe(SUBMITTED);
    expect((await callTool(f.refinery, 'bead_status', { beadId: mr.id })).body.bead.metadata.commit).toBe(SUBMITTED);

    const again = await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat), summary: 'did more', commit: RESUBMITTED });
    expect(again.body.mergeRequest).toMatchObject({ id: mr.id, metadata: expect.objectContaining({ commit: RESUBMITTED }) });
    expect((await townEvents(f)).map((e) => e.type)).toContain('merge_request.resubmitted');
  });
});

/** mayor slings → a polecat is dispatched → its gt_done (with the container's commit) → it exits → the refinery is started with the merge request. */
async function inReview(
  f: DispatchFixture,
): Promise<{ refinery: AgentWithCredentials; polecat: AgentWithCredentials; bead: Bead; mr: Bead; branch: string; prompt: string }> {
  await sendToMayor(f, 'please work');
  const mayor = startedAgent(f.fake.of('start').find((s) => s.req.agent.role === 'mayor')!.req);
  await heartbeat(mayor, { activity: 'waiting' });
  const bead = TOOLS.sling.result.parse((await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'add a README' })).body).bead;
  await runAlarm(f.town.id);
  const polecat = startedAgent(f.fake.of('start').at(-1)!.req);
  const branch = `gt/${polecat.agent.id}/${bead.id}`;
  const mr = TOOLS.done.result.parse((await callTool(polecat, 'done', { branch, summary: 'added it', commit: SUBMITTED })).body).mergeRequest;
  await complete(polecat, { outcome: 'completed', branch });
  await runAlarm(f.town.id);
  const start = f.fake.of('start').at(-1)!.req;
  const refinery = startedAgent(start);
  await heartbeat(refinery, { activity: 'working' });
  return { refinery, polecat, bead, mr, branch, prompt: start.prompt ?? '' };
}

describe("the refinery's approval names the commit it reviewed", () => {
  it('the review request names the commit; approval without it → 400, with another → 409 changed_since_review; nothing is merged', async () => {
    const f = await dispatchTown();
    const { refinery, mr, branch, prompt } = await inReview(f);
    expect(prompt).toContain(SUBMITTED);
    expect(f.fake.of('start').at(-1)!.req.instructions).toContain('commit');

    expectError(await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id }), 400, 'validation_failed');
    const stale = await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: RESUBMITTED });
    expectError(stale, 409, 'changed_since_review');
    expect(stale.body.error.message).toContain(SUBMITTED);
    expectError(await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: 'abc123' }), 400, 'validation_failed');
    expect(await beadById(f, mr.id)).toMatchObject({ status: 'open', metadata: expect.objectContaining({ commit: SUBMITTED }) });
    expect(f.fake.of('merge')).toEqual([]);
  });

  it('the container is asked to merge exactly the approved commit; changed_since_review sends the merge request back to review at the new commit', async () => {
    const f = await dispatchTown();
    const { refinery, bead, mr, branch } = await inReview(f);

    const approved = await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: SUBMITTED, summary: 'good' });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.mergeRequest).toMatchObject({ status: 'in_progress', metadata: expect.objectContaining({ approvedCommit: SUBMITTED }) });
    expect(MergeRequestSchema.parse(f.fake.of('merge')[0]!.req)).toMatchObject({ mergeRequestBeadId: mr.id, branch, commit: SUBMITTED });
    // the same approval again while the merge runs: the same answer; another commit: refused
    expect((await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: SUBMITTED })).status).toBe(200);
    expectError(await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: RESUBMITTED }), 409, 'conflict');
    expect(f.fake.of('merge')).toHaveLength(1);

    // the container found the branch elsewhere: nothing merged, back to review at that commit
    const cb = await mergeResult(refinery, { mergeRequestBeadId: mr.id, outcome: 'changed_since_review', commitSha: RESUBMITTED, message: 'branch moved' });
    expect(cb.status, JSON.stringify(cb.body)).toBe(200);
    expect(await beadById(f, mr.id)).toMatchObject({
      status: 'open',
      assigneeId: null,
      metadata: expect.objectContaining({ commit: RESUBMITTED, approvedCommit: null, approvedBy: null }),
    });
    expect(await beadById(f, bead.id)).toMatchObject({ status: 'in_review' });
    expect((await townEvents(f)).map((e) => e.type)).toContain('merge_request.changed_since_review');

    // the waiting refinery gets it again, naming the new commit; approving that one merges it
    await heartbeat(refinery, { activity: 'waiting' });
    await runAlarm(f.town.id);
    const delivered = f.fake.of('deliver').at(-1)!;
    expect(delivered).toMatchObject({ agentId: refinery.agent.id });
    expect(delivered.req.text).toContain(RESUBMITTED);
    expect((await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: RESUBMITTED })).status).toBe(200);
    expect(MergeRequestSchema.parse(f.fake.of('merge').at(-1)!.req).commit).toBe(RESUBMITTED);
    await mergeResult(refinery, { mergeRequestBeadId: mr.id, outcome: 'merged', commitSha: '3'.repeat(40) });
    expect(await beadById(f, bead.id)).toMatchObject({ status: 'closed' });
  });
});
