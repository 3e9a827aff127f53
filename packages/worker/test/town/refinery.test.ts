import { GastownError, MergeRequestSchema, TOOLS, type Bead } from '@gastown/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, callTool, expectError, type AgentWithCredentials } from '../helpers';
import { agentById, complete, dispatchTown, heartbeat, mergeResult, sendToMayor, startedAgent, townEvents, type DispatchFixture } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';

afterEach(() => {
  vi.useRealTimers();
});

/** The commit a polecat's gt_done carries in these tests. */
const POLECAT_COMMIT = '5'.repeat(40);

async function beadById(f: DispatchFixture, id: string): Promise<Bead> {
  const all = (await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as Bead[];
  return all.find((b) => b.id === id)!;
}

/**
 * mayor slings → alarm dispatches a polecat → it calls done on its branch and exits (completion
 * after the branch push) → the merge request is ready for review.
 */
async function readyMergeRequest(
  f: DispatchFixture,
  title = 'add a README',
): Promise<{ mayor: AgentWithCredentials; polecat: AgentWithCredentials; bead: Bead; mr: Bead; branch: string }> {
  if (f.fake.of('start').length === 0) await sendToMayor(f, 'please work');
  const mayor = startedAgent(f.fake.of('start').find((s) => s.req.agent.role === 'mayor')!.req);
  await heartbeat(mayor, { activity: 'waiting' });
  const bead = TOOLS.sling.result.parse((await callTool(mayor, 'sling', { rigId: f.rig.id, title })).body).bead;
  await runAlarm(f.town.id);
  const start = f.fake.of('start').at(-1)!.req;
  const polecat = startedAgent(start);
  const branch = `gt/${polecat.agent.id}/${bead.id}`;
  await heartbeat(polecat, { activity: 'working' });
  // the commit the container copied out of the polecat's repository (branch-submission.ts) travels with the call
  const done = await callTool(polecat, 'done', { branch, summary: 'added it', commit: POLECAT_COMMIT });
  expect(done.status, JSON.stringify(done.body)).toBe(200);
  const mr = TOOLS.done.result.parse(done.body).mergeRequest;
  return { mayor, polecat, bead, mr, branch };
}

/**
 * A refinery that reviewed and merged a first merge request and now waits; a second merge request
 * is ready (its polecat exited). The next alarm hands the second one over.
 */
async function refineryWaitingWithSecondMergeRequest() {
  const f = await dispatchTown();
  const first = await readyMergeRequest(f, 'first');
  await complete(first.polecat, { outcome: 'completed', branch: first.branch });
  await runAlarm(f.town.id);
  const refineryStart = f.fake.of('start').at(-1)!.req;
  const refinery = startedAgent(refineryStart);
  await callTool(refinery, 'done', { branch: first.branch, mergeRequestBeadId: first.mr.id, commit: POLECAT_COMMIT });
  await mergeResult(refinery, { mergeRequestBeadId: first.mr.id, outcome: 'merged', commitSha: 'c'.repeat(40) });
  await heartbeat(refinery, { activity: 'waiting' });
  const second = await readyMergeRequest(f, 'second');
  await complete(second.polecat, { outcome: 'completed', branch: second.branch });
  return { f, refineryStart, refinery, second };
}

describe('refinery flow', () => {
  it('an open merge request waits until its polecat has exited (pushed), then the alarm starts the rig refinery with it', async () => {
    const f = await dispatchTown();
    const { polecat, mr, branch } = await readyMergeRequest(f);
    const startsBefore = f.fake.of('start').length;
    await runAlarm(f.town.id);
    expect(f.fake.of('start')).toHaveLength(startsBefore); // the polecat still runs

    expect((await complete(polecat, { outcome: 'completed', reason: 'idle timeout', branch })).status).toBe(200);
    await runAlarm(f.town.id);
    const start = f.fake.of('start').at(-1)!.req;
    expect(start).toMatchObject({ agent: { role: 'refinery', rigId: f.rig.id, gen: 1 }, rig: { id: f.rig.id }, bead: null });
    expect(start.prompt).toContain(mr.id);
    expect(start.prompt).toContain(branch);
    expect(start.instructions).toContain('gt_done');
    expect(start.instructions).toContain('gt_request_changes');
    expect(await beadById(f, mr.id)).toMatchObject({ status: 'open', assigneeId: start.agent.id, metadata: expect.objectContaining({ reviewGen: 1 }) });
    // handed over: the next alarm does not start or deliver again
    await heartbeat(startedAgent(start), { activity: 'working' });
    await runAlarm(f.town.id);
    expect(f.fake.of('start')).toHaveLength(startsBefore + 1);
    expect(f.fake.of('deliver')).toEqual([]);
  });

  it('the refinery approves (done {branch, mergeRequestBeadId}): merge request in progress, POST /git/merge sent; the merge callback closes both beads', async () => {
    const f = await dispatchTown();
    const { polecat, bead, mr, branch } = await readyMergeRequest(f);
    await complete(polecat, { outcome: 'completed', branch });
    await runAlarm(f.town.id);
    const refinery = startedAgent(f.fake.of('start').at(-1)!.req);
    await heartbeat(refinery, { activity: 'working' });

    const res = await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: POLECAT_COMMIT, summary: 'looks good' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(TOOLS.done.result.parse(res.body).mergeRequest).toMatchObject({
      id: mr.id,
      status: 'in_progress',
      metadata: expect.objectContaining({ approvedBy: refinery.agent.id }),
    });
    const [merge] = f.fake.of('merge');
    const req = MergeRequestSchema.parse(merge!.req);
    expect(req).toMatchObject({
      agentId: refinery.agent.id,
      mergeRequestBeadId: mr.id,
      branch,
      rig: { id: f.rig.id, name: f.rig.name, gitUrl: f.rig.gitUrl, defaultBranch: 'main' },
    });
    expect(req.message).toContain(branch);
    // a repeated approval while the merge runs: the same answer, no second merge
    expect((await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: POLECAT_COMMIT })).status).toBe(200);
    expect(f.fake.of('merge')).toHaveLength(1);

    const sha = 'b'.repeat(40);
    const cb = await mergeResult(refinery, { mergeRequestBeadId: mr.id, outcome: 'merged', commitSha: sha });
    expect(cb.status).toBe(200);
    expect(await beadById(f, mr.id)).toMatchObject({ status: 'closed', metadata: expect.objectContaining({ resolution: 'merged', commitSha: sha }) });
    expect(await beadById(f, bead.id)).toMatchObject({ status: 'closed' });
    expect((await townEvents(f)).map((e) => e.type)).toEqual(
      expect.arrayContaining(['merge_request.approved', 'merge_request.merge_started', 'merge_request.merged']),
    );
  });

  it('a merge conflict: merge request failed, source bead reopened with the message, an escalation; the next alarm dispatches a new polecat', async () => {
    const f = await dispatchTown();
    const { polecat, bead, mr, branch } = await readyMergeRequest(f);
    await complete(polecat, { outcome: 'completed', branch });
    await runAlarm(f.town.id);
    const refinery = startedAgent(f.fake.of('start').at(-1)!.req);
    await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: POLECAT_COMMIT });
    await mergeResult(refinery, { mergeRequestBeadId: mr.id, outcome: 'conflict', message: 'CONFLICT in README.md' });
    expect(await beadById(f, mr.id)).toMatchObject({ status: 'failed' });
    const source = await beadById(f, bead.id);
    expect(source).toMatchObject({ status: 'open', assigneeId: null });
    await runAlarm(f.town.id);
    const next = f.fake.of('start').at(-1)!.req;
    expect(next).toMatchObject({ agent: { role: 'polecat' }, bead: { id: bead.id } });
    expect(next.agent.id).not.toBe(polecat.agent.id);
    expect(next.prompt).toContain('CONFLICT in README.md');
  });

  it('a container that does not take the merge: the refinery gets the typed error, the merge request is open again', async () => {
    const f = await dispatchTown();
    const { polecat, mr, branch } = await readyMergeRequest(f);
    await complete(polecat, { outcome: 'completed', branch });
    await runAlarm(f.town.id);
    const refinery = startedAgent(f.fake.of('start').at(-1)!.req);
    f.fake.behaviour.merge = new GastownError('container_unavailable', 'container did not answer');
    expectError(await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: POLECAT_COMMIT }), 503, 'container_unavailable');
    expect(await beadById(f, mr.id)).toMatchObject({ status: 'open' });
    f.fake.behaviour.merge = null;
    expect((await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: POLECAT_COMMIT })).status).toBe(200);
  });

  it('approving with the wrong branch or a settled merge request → 409; another rig → 404', async () => {
    const f = await dispatchTown();
    const { polecat, mr, branch } = await readyMergeRequest(f);
    await complete(polecat, { outcome: 'completed', branch });
    await runAlarm(f.town.id);
    const refinery = startedAgent(f.fake.of('start').at(-1)!.req);
    expectError(await callTool(refinery, 'done', { branch: 'gt/other/branch', mergeRequestBeadId: mr.id, commit: POLECAT_COMMIT }), 409, 'conflict');
    await callTool(refinery, 'request_changes', { mergeRequestBeadId: mr.id, feedback: 'needs tests' });
    expectError(await callTool(refinery, 'done', { branch, mergeRequestBeadId: mr.id, commit: POLECAT_COMMIT }), 409, 'conflict');
    expect(f.fake.of('merge')).toEqual([]);
  });

  it('a waiting refinery gets the next merge request delivered (with a fresh grant), not a new start', async () => {
    const { f, refineryStart, refinery, second } = await refineryWaitingWithSecondMergeRequest();
    const starts = f.fake.of('start').length;
    await runAlarm(f.town.id);
    expect(f.fake.of('start')).toHaveLength(starts);
    const delivered = f.fake.of('deliver').at(-1)!;
    expect(delivered).toMatchObject({ agentId: refinery.agent.id, req: { grant: { gen: refineryStart.agent.gen } } });
    expect(delivered.req.text).toContain(second.mr.id);
    expect((await beadById(f, second.mr.id)).assigneeId).toBe(refinery.agent.id);
    expect((await agentById(f, refinery.agent.id)).credential.gen).toBe(refineryStart.agent.gen);
  });

  it('a refinery whose run is ending (idle timeout: the container answers 409) is not declared lost: its last events and completion report keep working, then a new run takes the merge request', async () => {
    const { f, refineryStart, refinery, second } = await refineryWaitingWithSecondMergeRequest();
    f.fake.behaviour.deliver = 'ending';
    const starts = f.fake.of('start').length;
    await runAlarm(f.town.id);
    expect(f.fake.of('deliver').at(-1)).toMatchObject({ agentId: refinery.agent.id });
    expect(f.fake.of('start')).toHaveLength(starts);
    // not lost: same generation, its token still works for the run's last events and its report
    expect(await agentById(f, refinery.agent.id)).toMatchObject({ status: 'waiting', credential: { gen: refineryStart.agent.gen } });
    expect((await townEvents(f)).filter((e) => e.type === 'agent.lost')).toEqual([]);
    expect((await townEvents(f)).filter((e) => e.type === 'merge_request.review_deferred').map((e) => e.beadId)).toEqual([second.mr.id]);
    const events = await call('POST', `/agent/towns/${f.town.id}/agents/${refinery.agent.id}/events`, {
      token: refinery.token,
      body: { events: [{ id: 'ev_ending_1', type: 'agent.exited', at: Date.now(), data: { outcome: 'completed' } }] },
    });
    expect(events.status, JSON.stringify(events.body)).toBe(200);
    expect((await complete(refinery, { outcome: 'completed', reason: 'idle timeout' })).status).toBe(200);

    // the run ended properly; after the pause the next pass starts a new run with the merge request
    vi.useFakeTimers({ now: Date.now() + 1_500, toFake: ['Date'] });
    await runAlarm(f.town.id);
    const next = f.fake.of('start').at(-1)!.req;
    expect(f.fake.of('start')).toHaveLength(starts + 1);
    expect(next).toMatchObject({ agent: { id: refinery.agent.id, role: 'refinery' } });
    expect(next.agent.gen).toBeGreaterThan(refineryStart.agent.gen); // the completion revoked its generation; the new run has its own
    expect(next.prompt).toContain(second.mr.id);
  });
});
