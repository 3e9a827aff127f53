import { AgentCredentialsSchema, BeadSchema, TOOLS, type CredentialStatus } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call, callTool, expectError, ownBranch, setupTown, spawnAgent, type AgentWithCredentials, type TownFixture } from '../helpers';

function credentialStatus(overrides: Partial<CredentialStatus> = {}): CredentialStatus {
  return {
    accessTokenExpiresAt: Date.now() + 3_600_000,
    tokenFingerprint: '0123abcd',
    nextRefreshAt: Date.now() + 1_800_000,
    lastRefreshAt: null,
    lastRefreshSource: 'dispatch',
    refreshCount: 0,
    consecutiveFailures: 0,
    unauthorizedCount: 0,
    lastError: null,
    state: 'valid',
    ...overrides,
  };
}

function heartbeat(who: AgentWithCredentials, body: Record<string, unknown> = {}) {
  return call('POST', `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/heartbeat`, {
    token: who.token,
    body: { containerInstanceId: 'ci-1', runtimeState: 'running', activity: 'working', credential: credentialStatus(), pid: 42, sessionId: 's-1', ...body },
  });
}

function complete(who: AgentWithCredentials, body: Record<string, unknown>) {
  return call('POST', `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/completion`, { token: who.token, body });
}

function mergeResult(who: AgentWithCredentials, body: Record<string, unknown>) {
  return call('POST', `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/merge-result`, { token: who.token, body });
}

async function beadById(f: TownFixture, id: string) {
  const res = await callTool(f.mayor, 'bead_status', { beadId: id });
  expect(res.status).toBe(200);
  return BeadSchema.parse(res.body.bead);
}

async function eventTypes(f: TownFixture): Promise<string[]> {
  const res = await call('GET', `/api/towns/${f.town.id}/events?limit=500`, { token: f.userToken });
  return res.body.events.map((e: { type: string }) => e.type);
}

describe('agent tools: happy paths', () => {
  it('sling creates an open issue bead in an existing rig; an unknown rig is 404', async () => {
    const f = await setupTown();
    const res = await callTool(f.mayor, 'sling', { rigId: f.rig.id, title: 'Add a README' });
    expect(res.status).toBe(200);
    expect(TOOLS.sling.result.parse(res.body).bead).toMatchObject({
      type: 'issue',
      status: 'open',
      rigId: f.rig.id,
      title: 'Add a README',
      body: '',
      attempts: 0,
    });
    expectError(await callTool(f.mayor, 'sling', { rigId: 'rig_doesnotexist', title: 'x' }), 404, 'not_found');
  });

  it('list_rigs, list_beads (filtered), list_agents', async () => {
    const f = await setupTown();
    expect(TOOLS.list_rigs.result.parse((await callTool(f.polecat, 'list_rigs')).body).rigs.map((r) => r.id)).toEqual([f.rig.id]);
    await callTool(f.mayor, 'sling', { rigId: f.rig.id, title: 'second' });
    const open = TOOLS.list_beads.result.parse((await callTool(f.mayor, 'list_beads', { status: 'open' })).body).beads;
    expect(open.map((b) => b.title)).toEqual(['second']);
    const inRig = TOOLS.list_beads.result.parse((await callTool(f.refinery, 'list_beads', { rigId: f.rig.id })).body).beads;
    expect(inRig).toHaveLength(2);
    const agents = TOOLS.list_agents.result.parse((await callTool(f.mayor, 'list_agents')).body).agents;
    expect(agents.map((a) => a.role).sort()).toEqual(['mayor', 'polecat', 'refinery']);
  });

  it('mail_send to an agent id and to "mayor"; mail_check returns unread once and marks it read', async () => {
    const f = await setupTown();
    const toMayor = await callTool(f.polecat, 'mail_send', { to: 'mayor', subject: 'status', body: 'halfway' });
    expect(TOOLS.mail_send.result.parse(toMayor.body).mail).toMatchObject({ toAgentId: f.mayor.agent.id, fromAgentId: f.polecat.agent.id, readAt: null });
    await callTool(f.refinery, 'mail_send', { to: f.mayor.agent.id, subject: 'review', body: '' });
    const first = TOOLS.mail_check.result.parse((await callTool(f.mayor, 'mail_check')).body).mail;
    expect(first.map((m) => m.subject)).toEqual(['status', 'review']);
    expect(first.every((m) => m.readAt !== null)).toBe(true);
    expect((await callTool(f.mayor, 'mail_check')).body.mail).toEqual([]);
    expectError(await callTool(f.polecat, 'mail_send', { to: 'ag_nobodyhere', subject: 'x' }), 404, 'not_found');
  });

  it('status sets the status line; prime returns agent, rig, hooked bead and unread mail (without marking it read)', async () => {
    const f = await setupTown();
    expect((await callTool(f.polecat, 'status', { text: 'writing tests' })).body).toEqual({ ok: true });
    await callTool(f.mayor, 'mail_send', { to: f.polecat.agent.id, subject: 'hint', body: 'look at src/' });
    const primed = TOOLS.prime.result.parse((await callTool(f.polecat, 'prime')).body);
    expect(primed.agent).toMatchObject({ id: f.polecat.agent.id, statusLine: 'writing tests' });
    expect(primed.rig?.id).toBe(f.rig.id);
    expect(primed.hookedBead?.id).toBe(f.bead.id);
    expect(primed.unreadMail.map((m) => m.subject)).toEqual(['hint']);
    expect(TOOLS.prime.result.parse((await callTool(f.polecat, 'prime')).body).unreadMail).toHaveLength(1);
    const mayorPrime = TOOLS.prime.result.parse((await callTool(f.mayor, 'prime')).body);
    expect(mayorPrime).toMatchObject({ rig: null, hookedBead: null });
  });

  it('bead_status: a bead by id; unknown → 404', async () => {
    const f = await setupTown();
    expect((await beadById(f, f.bead.id)).status).toBe('in_progress');
    expectError(await callTool(f.polecat, 'bead_status', { beadId: 'bd_doesnotexist' }), 404, 'not_found');
  });

  it('escalate creates an escalation bead and a town event', async () => {
    const f = await setupTown();
    const res = await callTool(f.polecat, 'escalate', { title: 'tests are flaky', severity: 'high' });
    const bead = TOOLS.escalate.result.parse(res.body).bead;
    expect(bead).toMatchObject({
      type: 'escalation',
      status: 'open',
      rigId: f.rig.id,
      metadata: { severity: 'high', fromAgentId: f.polecat.agent.id, relatedBeadId: f.bead.id },
    });
    expect(await eventTypes(f)).toContain('escalation.created');
  });

  it('done: a merge request bead with {sourceBeadId, branch, polecatId}; source bead in review; idempotent', async () => {
    const f = await setupTown();
    const res = await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat), summary: 'did it' });
    expect(res.status).toBe(200);
    const mr = TOOLS.done.result.parse(res.body).mergeRequest;
    expect(mr).toMatchObject({
      type: 'merge_request',
      status: 'open',
      rigId: f.rig.id,
      body: 'did it',
      metadata: { sourceBeadId: f.bead.id, branch: ownBranch(f.polecat), polecatId: f.polecat.agent.id },
    });
    expect((await beadById(f, f.bead.id)).status).toBe('in_review');
    const again = await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat), summary: 'did it' });
    expect(again.body.mergeRequest.id).toBe(mr.id);
  });

  it('done without a hooked bead → 409', async () => {
    const f = await setupTown();
    const idle = await spawnAgent(f.town.id, { role: 'polecat', rigId: f.rig.id });
    expectError(await callTool(idle, 'done', { branch: 'gt/x/y' }), 409, 'conflict');
  });

  it('request_changes: MR failed, source bead back to open with feedback, mail to the polecat', async () => {
    const f = await setupTown();
    const mr = (await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat) })).body.mergeRequest;
    const res = await callTool(f.refinery, 'request_changes', { mergeRequestBeadId: mr.id, feedback: 'please add tests' });
    expect(res.status).toBe(200);
    expect(res.body.bead).toMatchObject({ id: mr.id, status: 'failed', metadata: { resolution: 'changes_requested', feedback: 'please add tests' } });
    const source = await beadById(f, f.bead.id);
    expect(source).toMatchObject({ status: 'open', assigneeId: null });
    expect(source.metadata.reviewFeedback).toEqual([expect.objectContaining({ feedback: 'please add tests', from: f.refinery.agent.id })]);
    const mail = (await callTool(f.polecat, 'mail_check')).body.mail;
    expect(mail).toEqual([expect.objectContaining({ fromAgentId: f.refinery.agent.id, body: 'please add tests' })]);
    expectError(await callTool(f.refinery, 'request_changes', { mergeRequestBeadId: mr.id, feedback: 'again' }), 409, 'conflict');
    expectError(await callTool(f.refinery, 'request_changes', { mergeRequestBeadId: f.bead.id, feedback: 'not an MR' }), 409, 'conflict');
  });
});

describe('agent tools: role limits', () => {
  const cases = [
    { name: 'polecat cannot sling', who: 'polecat', tool: 'sling' },
    { name: 'refinery cannot sling', who: 'refinery', tool: 'sling' },
    { name: 'mayor cannot done', who: 'mayor', tool: 'done' },
    { name: 'polecat cannot request_changes', who: 'polecat', tool: 'request_changes' },
    { name: 'mayor cannot request_changes', who: 'mayor', tool: 'request_changes' },
  ] as const;
  const args = {
    sling: (f: TownFixture) => ({ rigId: f.rig.id, title: 'x' }),
    done: () => ({ branch: 'gt/a/b' }),
    request_changes: (f: TownFixture) => ({ mergeRequestBeadId: f.bead.id, feedback: 'x' }),
  };
  it.each(cases)('$name → 403 role_forbidden', async ({ who, tool }) => {
    const f = await setupTown();
    const { snapshotTown } = await import('../helpers');
    const before = await snapshotTown(f.town.id);
    expectError(await callTool(f[who], tool, args[tool](f)), 403, 'role_forbidden');
    expect(await snapshotTown(f.town.id)).toEqual(before);
  });

  it('a refinery may call done only to approve a merge request: without mergeRequestBeadId → 400, nothing changes', async () => {
    const f = await setupTown();
    const { snapshotTown } = await import('../helpers');
    const before = await snapshotTown(f.town.id);
    expectError(await callTool(f.refinery, 'done', { branch: 'gt/a/b' }), 400, 'validation_failed');
    expect(await snapshotTown(f.town.id)).toEqual(before);
  });

  it('a polecat cannot approve merge requests (done with mergeRequestBeadId → 400)', async () => {
    const f = await setupTown();
    expectError(await callTool(f.polecat, 'done', { branch: 'gt/a/b', mergeRequestBeadId: f.bead.id }), 400, 'validation_failed');
  });

  it('only a refinery reports merge results', async () => {
    const f = await setupTown();
    expectError(await mergeResult(f.polecat, { mergeRequestBeadId: f.bead.id, outcome: 'merged' }), 403, 'role_forbidden');
  });

  it('an unknown tool → 404 not_found', async () => {
    const f = await setupTown();
    expectError(await callTool(f.mayor, 'launch_missiles', {}), 404, 'not_found');
  });
});

describe('agent lifecycle callbacks', () => {
  it('heartbeat stores liveness, container instance, credential report and activity', async () => {
    const f = await setupTown();
    const res = await heartbeat(f.polecat, { activity: 'waiting', credential: credentialStatus({ consecutiveFailures: 2, state: 'degraded' }) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, gen: 1 });
    expect(typeof res.body.serverTime).toBe('number');
    const agent = (await call('GET', `/api/towns/${f.town.id}/agents`, { token: f.userToken })).body.agents.find(
      (a: { id: string }) => a.id === f.polecat.agent.id,
    );
    expect(agent).toMatchObject({ status: 'waiting', containerInstanceId: 'ci-1', credential: { state: 'degraded', reported: { consecutiveFailures: 2 } } });
    expect(agent.lastHeartbeatAt).toBe(res.body.serverTime);
    await heartbeat(f.polecat, { activity: 'working' });
    const after = (await call('GET', `/api/towns/${f.town.id}/agents`, { token: f.userToken })).body.agents.find(
      (a: { id: string }) => a.id === f.polecat.agent.id,
    );
    expect(after).toMatchObject({ status: 'working', credential: { state: 'healthy' } });
  });

  it('event batches are deduplicated by client event id', async () => {
    const f = await setupTown();
    const path = `/agent/towns/${f.town.id}/agents/${f.polecat.agent.id}/events`;
    const e = (id: string) => ({ id, type: 'session.idle', at: Date.now(), data: { n: id } });
    const first = await call('POST', path, { token: f.polecat.token, body: { events: [e('evt_00000001'), e('evt_00000002')] } });
    expect(first.body).toEqual({ accepted: 2, duplicates: 0 });
    const second = await call('POST', path, { token: f.polecat.token, body: { events: [e('evt_00000002'), e('evt_00000003')] } });
    expect(second.body).toEqual({ accepted: 1, duplicates: 1 });
  });

  it("completion after done: bead stays in review, agent exited; a repeated report changes nothing (the run's token died with the first)", async () => {
    const f = await setupTown();
    await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat) });
    const res = await complete(f.polecat, { outcome: 'completed' });
    expect(res.body).toEqual({ ok: true, beadStatus: 'in_review' });
    const again = await complete(f.polecat, { outcome: 'failed', reason: 'late duplicate' });
    expectError(again, 401, 'token_revoked');
    expect((await beadById(f, f.bead.id)).status).toBe('in_review');
    const agent = (await call('GET', `/api/towns/${f.town.id}/agents`, { token: f.userToken })).body.agents.find(
      (a: { id: string }) => a.id === f.polecat.agent.id,
    );
    expect(agent.status).toBe('exited');
  });

  it('completion without done: bead back to open with attempts + 1', async () => {
    const f = await setupTown();
    expect((await complete(f.polecat, { outcome: 'completed' })).body).toEqual({ ok: true, beadStatus: 'open' });
    expect(await beadById(f, f.bead.id)).toMatchObject({ status: 'open', attempts: 1, assigneeId: null });
  });

  it('failed completions: open until the third attempt, then failed', async () => {
    const f = await setupTown();
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await spawnAgent(f.town.id, { role: 'polecat', rigId: f.rig.id, beadId: f.bead.id });
      statuses.push((await complete(p, { outcome: 'failed', reason: 'crashed' })).body.beadStatus);
    }
    expect(statuses).toEqual(['open', 'open', 'failed']);
    expect(await beadById(f, f.bead.id)).toMatchObject({
      attempts: 3,
      metadata: expect.objectContaining({ lastFailure: { reason: 'its polecat ended failed: crashed', at: expect.any(Number) } }),
    });
  });

  it('merge callback merged: MR closed, source bead closed', async () => {
    const f = await setupTown();
    const mr = (await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat) })).body.mergeRequest;
    const sha = 'a'.repeat(40);
    const res = await mergeResult(f.refinery, { mergeRequestBeadId: mr.id, outcome: 'merged', commitSha: sha });
    expect(res.status).toBe(200);
    expect(res.body.mergeRequest).toMatchObject({ status: 'closed', metadata: { commitSha: sha } });
    expect(res.body.sourceBead).toMatchObject({ id: f.bead.id, status: 'closed' });
    // settled: a replayed callback changes nothing
    const replay = await mergeResult(f.refinery, { mergeRequestBeadId: mr.id, outcome: 'failed', message: 'late' });
    expect(replay.body.mergeRequest.status).toBe('closed');
  });

  it('merge callback conflict: MR failed, source reopened with the message, escalation created', async () => {
    const f = await setupTown();
    const mr = (await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat) })).body.mergeRequest;
    const res = await mergeResult(f.refinery, { mergeRequestBeadId: mr.id, outcome: 'conflict', message: 'CONFLICT in README.md' });
    expect(res.body.mergeRequest).toMatchObject({ status: 'failed', metadata: { resolution: 'conflict' } });
    expect(res.body.sourceBead).toMatchObject({ status: 'open', assigneeId: null });
    expect(res.body.sourceBead.metadata.mergeFailures).toEqual([expect.objectContaining({ outcome: 'conflict', message: 'CONFLICT in README.md' })]);
    const escalations = (await callTool(f.mayor, 'list_beads', {})).body.beads.filter((b: { type: string }) => b.type === 'escalation');
    expect(escalations).toEqual([expect.objectContaining({ status: 'open', metadata: expect.objectContaining({ relatedBeadId: mr.id }) })]);
    expect(await eventTypes(f)).toEqual(expect.arrayContaining(['merge_request.failed', 'escalation.created']));
  });

  it('merge callback failed: MR failed, source reopened, no escalation', async () => {
    const f = await setupTown();
    const mr = (await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat) })).body.mergeRequest;
    const res = await mergeResult(f.refinery, { mergeRequestBeadId: mr.id, outcome: 'failed', message: 'push rejected' });
    expect(res.body.mergeRequest.status).toBe('failed');
    expect(res.body.sourceBead.status).toBe('open');
    const escalations = (await callTool(f.mayor, 'list_beads', {})).body.beads.filter((b: { type: string }) => b.type === 'escalation');
    expect(escalations).toEqual([]);
  });

  it('credentials issued to an agent are schema-valid', async () => {
    const f = await setupTown();
    expect(AgentCredentialsSchema.parse(f.polecat.credentials).gen).toBe(1);
  });
});
