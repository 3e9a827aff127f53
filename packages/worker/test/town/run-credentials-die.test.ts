/**
 * A run's credentials die with it (containment, point 4): completion, stop, a crash the reconciler
 * detects (missed heartbeats, a new container instance), a run that ended without its report, and a
 * reissue each move the agent to a new generation and revoke its refresh families. Afterwards the
 * run's last access token gets 401 token_revoked on an agent route and its last refresh credential
 * 401 on the refresh route. What the container legitimately sends at the end of a run (event flush,
 * merge callback, completion report — in that order) is still accepted, and after a stop or a
 * reissue the new credentials work at once.
 */
import { type AgentCredentials, type AgentEvent } from '@gastown/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, callTool, expectError, ownBranch, setupTown, type AgentWithCredentials, type CallResult } from '../helpers';
import {
  agentById,
  complete,
  dispatchTown,
  heartbeat,
  mergeResult,
  postEvents,
  sendToMayor,
  startedAgent,
  townEvents,
  type DispatchFixture,
} from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';

const HB_MS = 30_000;

afterEach(() => {
  vi.useRealTimers();
});

function refresh(who: AgentWithCredentials, credential = who.credentials.refreshCredential): Promise<CallResult> {
  return call('POST', `/agent/towns/${who.agent.townId}/refresh`, { token: credential });
}

/** The agent with these credentials (what the broker holds after a push or a refresh). */
function holding(who: AgentWithCredentials, credentials: AgentCredentials): AgentWithCredentials {
  return { agent: who.agent, credentials, token: credentials.accessToken };
}

let eventSeq = 0;
function event(type = 'agent.text'): AgentEvent {
  eventSeq += 1;
  return { id: `evt_${String(eventSeq).padStart(8, '0')}`, type, at: Date.now(), data: { text: 'bye' } };
}

/** The run is dead: its access token is revoked on an agent route and its refresh credential refused. */
async function expectRunCredentialsDead(who: AgentWithCredentials): Promise<void> {
  expectError(await callTool(who, 'list_rigs'), 401, 'token_revoked');
  expectError(await heartbeat(who), 401, 'token_revoked');
  expectError(await refresh(who), 401, 'token_revoked');
}

/** A mayor started by a message, heartbeating and waiting; its credentials refreshed once (the broker's pull). */
async function runningMayor(f: DispatchFixture): Promise<AgentWithCredentials> {
  await sendToMayor(f, 'hello');
  const mayor = startedAgent(f.fake.of('start').at(-1)!.req);
  expect((await heartbeat(mayor, { activity: 'waiting' })).status).toBe(200);
  const refreshed = await refresh(mayor);
  expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
  return holding(mayor, refreshed.body as AgentCredentials);
}

describe("a run's credentials die with it", () => {
  it('completion: the final event flush and the report are accepted; then the token is revoked and the refresh credential refused', async () => {
    const f = await dispatchTown();
    const mayor = await runningMayor(f);
    // the container's order at the end of a run: events flushed, then the completion report
    expect((await postEvents(mayor, [event(), event('session.idle')])).status).toBe(200);
    const done = await complete(mayor, { outcome: 'stopped', reason: 'container shutdown' });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    await expectRunCredentialsDead(mayor);
    expectError(await postEvents(mayor, [event()]), 401, 'token_revoked');
    const agent = await agentById(f, mayor.agent.id);
    expect(agent).toMatchObject({ status: 'exited', credential: { gen: 2 } });
    expect((await townEvents(f)).find((e) => e.type === 'credential.revoked')?.data).toMatchObject({ gen: 2, previousGen: 1, reason: 'run_completed' });
    // the next message starts a new run with working credentials
    expect((await sendToMayor(f, 'good morning')).body.delivery).toBe('started');
    const next = startedAgent(f.fake.of('start').at(-1)!.req);
    expect(next.credentials.gen).toBe(3);
    expect((await callTool(next, 'list_rigs')).status).toBe(200);
  });

  it('completion of a refinery: its merge callback (sent before the report) is accepted; a late replay of it is not', async () => {
    const f = await setupTown();
    const mr = (await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat) })).body.mergeRequest;
    expect((await complete(f.polecat, { outcome: 'completed', branch: ownBranch(f.polecat) })).status).toBe(200);
    await expectRunCredentialsDead(f.polecat);
    const merged = await mergeResult(f.refinery, { mergeRequestBeadId: mr.id, outcome: 'merged', commitSha: 'a'.repeat(40) });
    expect(merged.status).toBe(200);
    expect(merged.body.mergeRequest.status).toBe('closed');
    expect((await complete(f.refinery, { outcome: 'completed', reason: 'idle timeout' })).status).toBe(200);
    expectError(await mergeResult(f.refinery, { mergeRequestBeadId: mr.id, outcome: 'merged', commitSha: 'a'.repeat(40) }), 401, 'token_revoked');
    await expectRunCredentialsDead(f.refinery);
  });

  it('stop: what the container sends while it stops (event flush, completion report) is accepted; then the run is dead and a new start works at once', async () => {
    const f = await dispatchTown();
    const mayor = await runningMayor(f);
    const duringStop: number[] = [];
    f.fake.behaviour.onStop = async () => {
      duringStop.push((await postEvents(mayor, [event()])).status);
      duringStop.push((await complete(mayor, { outcome: 'stopped', reason: 'stopped by user' })).status);
    };
    const stopped = await call('POST', `/api/towns/${f.town.id}/agents/${mayor.agent.id}/stop`, { token: f.userToken });
    expect(stopped.status, JSON.stringify(stopped.body)).toBe(200);
    expect(duringStop).toEqual([200, 200]);
    expect(stopped.body.agent).toMatchObject({ status: 'stopped' });
    await expectRunCredentialsDead(mayor);
    f.fake.behaviour.onStop = null;
    // the new credentials of the next run work right after
    expect((await sendToMayor(f, 'again')).body.delivery).toBe('started');
    const next = startedAgent(f.fake.of('start').at(-1)!.req);
    expect(next.credentials.gen).toBeGreaterThan(mayor.credentials.gen);
    expect((await callTool(next, 'list_rigs')).status).toBe(200);
    expect((await heartbeat(next, { activity: 'waiting' })).status).toBe(200);
    expect((await refresh(next)).status).toBe(200);
  });

  it('crash, missed heartbeats: the lost run is dead; its re-dispatch runs on new credentials', async () => {
    const f = await dispatchTown();
    const mayor = await runningMayor(f);
    await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'work', body: 'x' });
    await runAlarm(f.town.id);
    const polecat = startedAgent(f.fake.of('start').at(-1)!.req);
    expect((await heartbeat(polecat, { activity: 'working' })).status).toBe(200);
    const refreshed = holding(polecat, (await refresh(polecat)).body as AgentCredentials);
    vi.setSystemTime(Date.now() + 3 * HB_MS + 1000);
    await heartbeat(mayor, { activity: 'waiting' });
    await runAlarm(f.town.id);
    expect((await townEvents(f)).find((e) => e.type === 'agent.lost' && e.agentId === polecat.agent.id)?.data).toMatchObject({ reason: 'missed_heartbeats' });
    await expectRunCredentialsDead(refreshed);
    const again = startedAgent(f.fake.of('start').at(-1)!.req);
    expect(again.agent.id).toBe(polecat.agent.id);
    expect((await heartbeat(again, { activity: 'working' })).status).toBe(200);
  });

  it('crash, a new container instance: every run of the old instance is dead', async () => {
    const f = await dispatchTown();
    const mayor = await runningMayor(f);
    const { spawnAgent } = await import('../helpers');
    const other = await spawnAgent(f.town.id, { role: 'refinery', rigId: f.rig.id });
    vi.setSystemTime(Date.now() + 1000);
    expect((await heartbeat(other, { containerInstanceId: 'ci_two', activity: 'waiting' })).status).toBe(200);
    await runAlarm(f.town.id);
    expect((await townEvents(f)).find((e) => e.type === 'agent.lost' && e.agentId === mayor.agent.id)?.data).toMatchObject({ reason: 'container_restarted' });
    await expectRunCredentialsDead(mayor);
    expect((await heartbeat(other, { containerInstanceId: 'ci_two' })).status).toBe(200);
  });

  it('a run a heartbeat showed as ended, whose report never came: revoked by the reconciler one heartbeat interval later (a report in between is still accepted)', async () => {
    const f = await dispatchTown();
    const mayor = await runningMayor(f);
    expect((await heartbeat(mayor, { runtimeState: 'failed' })).status).toBe(200);
    expect((await agentById(f, mayor.agent.id)).status).toBe('failed');
    await runAlarm(f.town.id);
    expect((await callTool(mayor, 'list_rigs')).status).toBe(200); // not yet: a report may be on its way
    expect(f.alarms.at).not.toBeNull();
    vi.setSystemTime(Date.now() + HB_MS + 1000);
    await runAlarm(f.town.id);
    await expectRunCredentialsDead(mayor);
    expect((await townEvents(f)).find((e) => e.type === 'credential.revoked')?.data).toMatchObject({ reason: 'run_ended_unreported', status: 'failed' });
  });

  it('reissue: the agent gets a new family at gen + 1 first (no call fails during the hand-over), then the old credentials die', async () => {
    const f = await dispatchTown();
    const mayor = await runningMayor(f);
    let release: () => void = () => {};
    f.fake.behaviour.pushGate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reissued = call('POST', `/api/towns/${f.town.id}/agents/${mayor.agent.id}/credentials/reissue`, { token: f.userToken });
    while (f.fake.of('push').length === 0) await new Promise((r) => setTimeout(r, 5));
    const pushed = f.fake.of('push')[0]!.req;
    expect(pushed.grant.gen).toBe(mayor.credentials.gen + 1);
    expect(pushed.refresh).not.toBeNull();
    const fresh = holding(mayor, { ...pushed.grant, ...pushed.refresh! });

    // while the container takes the new credentials, both generations work: no call fails
    expect((await callTool(mayor, 'list_rigs')).status).toBe(200);
    expect((await heartbeat(mayor, { activity: 'waiting' })).status).toBe(200);
    expect((await callTool(fresh, 'list_rigs')).status).toBe(200);
    const oldRotated = await refresh(mayor);
    expect(oldRotated.status, JSON.stringify(oldRotated.body)).toBe(200);
    const oldSuccessor = holding(mayor, oldRotated.body as AgentCredentials);

    release();
    const res = await reissued;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'delivered', agent: { credential: { gen: mayor.credentials.gen + 1 } } });

    // the old generation is dead: its token, its refresh credential, and what that one rotated to
    await expectRunCredentialsDead(mayor);
    await expectRunCredentialsDead(oldSuccessor);
    // the new one works right after
    expect((await callTool(fresh, 'list_rigs')).status).toBe(200);
    expect((await heartbeat(fresh, { activity: 'waiting' })).status).toBe(200);
    const rotated = await refresh(fresh);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect((rotated.body as AgentCredentials).gen).toBe(mayor.credentials.gen + 1);
    expect((await townEvents(f)).find((e) => e.type === 'credential.reissued')?.data).toMatchObject({ gen: 2, previousGen: 1, outcome: 'delivered' });
  });

  it('reissue that the container could not take: 503, and the old credentials die all the same', async () => {
    const f = await dispatchTown();
    const mayor = await runningMayor(f);
    const { GastownError } = await import('@gastown/protocol');
    f.fake.behaviour.push = new GastownError('container_unavailable', 'asleep');
    expectError(
      await call('POST', `/api/towns/${f.town.id}/agents/${mayor.agent.id}/credentials/reissue`, { token: f.userToken }),
      503,
      'container_unavailable',
    );
    await expectRunCredentialsDead(mayor);
  });

  it('reissue of a refinery: the merge request handed to its run stays handed to it (no second hand-over)', async () => {
    const f = await dispatchTown();
    const mayor = await runningMayor(f);
    await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'work', body: 'x' });
    await runAlarm(f.town.id);
    const polecatStart = f.fake.of('start').at(-1)!.req;
    const polecat = startedAgent(polecatStart);
    await heartbeat(polecat, { activity: 'working' });
    // gt_done takes only the polecat's own branch
    const branch = `gt/${polecat.agent.id}/${polecatStart.bead!.id}`;
    await callTool(polecat, 'done', { branch });
    await complete(polecat, { outcome: 'completed', branch });
    await runAlarm(f.town.id);
    const refinery = startedAgent(f.fake.of('start').at(-1)!.req);
    expect(refinery.agent.role).toBe('refinery');
    await heartbeat(refinery, { activity: 'waiting' });
    const deliveriesBefore = f.fake.of('deliver').length;
    const startsBefore = f.fake.of('start').length;
    expect((await call('POST', `/api/towns/${f.town.id}/agents/${refinery.agent.id}/credentials/reissue`, { token: f.userToken })).status).toBe(200);
    await runAlarm(f.town.id);
    expect(f.fake.of('deliver').length).toBe(deliveriesBefore);
    expect(f.fake.of('start').length).toBe(startsBefore);
    const mrs = (
      (await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as {
        type: string;
        assigneeId: string | null;
        metadata: Record<string, unknown>;
      }[]
    ).filter((b) => b.type === 'merge_request');
    expect(mrs).toEqual([
      expect.objectContaining({ assigneeId: refinery.agent.id, metadata: expect.objectContaining({ reviewGen: refinery.credentials.gen + 1 }) }),
    ]);
  });
});
