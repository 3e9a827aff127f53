/**
 * Completion outcome `drained` (the container got SIGTERM: a polecat's work is committed and pushed
 * on its branch before it reports). The polecat keeps its bead — in progress, assigned, no attempt
 * spent — its run's credentials end as with every completion, and the reconciler starts the same
 * polecat again (same branch) at gen + 1 on its next pass, which is due at once. For a mayor or a
 * refinery `drained` is exactly `stopped`.
 */
import { GastownError, TOOLS, type Bead, type TownEvent } from '@gastown/protocol';
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, callTool, expectError, type AgentWithCredentials } from '../helpers';
import { agentById, complete, dispatchTown, heartbeat, sendToMayor, startedAgent, townEvents, type DispatchFixture } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';

afterEach(() => {
  vi.useRealTimers();
});

async function beadOf(f: DispatchFixture, id: string): Promise<Bead> {
  const beads = (await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as Bead[];
  return beads.find((b) => b.id === id)!;
}

/** A town whose mayor slung one bead and whose polecat runs on it (started by the alarm). */
async function withWorkingPolecat(): Promise<{ f: DispatchFixture; polecat: AgentWithCredentials; bead: Bead }> {
  const f = await dispatchTown();
  await sendToMayor(f, 'please work');
  const mayor = startedAgent(f.fake.of('start')[0]!.req);
  await heartbeat(mayor, { activity: 'waiting' });
  const bead = TOOLS.sling.result.parse((await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'add a README', body: 'one paragraph' })).body).bead;
  await runAlarm(f.town.id);
  const polecat = startedAgent(f.fake.of('start').at(-1)!.req);
  expect(polecat.agent.role).toBe('polecat');
  expect((await heartbeat(polecat, { activity: 'working' })).status).toBe(200);
  return { f, polecat, bead };
}

const polecatStarts = (f: DispatchFixture, agentId: string) => f.fake.of('start').filter((s) => s.req.agent.id === agentId);

describe('completion drained: polecat', () => {
  it('the bead stays in progress and assigned (no attempt), the old credentials die, and the same polecat is re-dispatched at gen + 1 at once', async () => {
    const { f, polecat, bead } = await withWorkingPolecat();
    const branch = `gt/${polecat.agent.id}/${bead.id}`;
    const done = await complete(polecat, { outcome: 'drained', reason: 'container draining', branch });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toEqual({ ok: true, beadStatus: 'in_progress' });
    expect(await beadOf(f, bead.id)).toMatchObject({ status: 'in_progress', assigneeId: polecat.agent.id, attempts: 0 });
    expect((await agentById(f, polecat.agent.id)).status).toBe('exited');
    expectError(await heartbeat(polecat), 401, 'token_revoked');
    const completed = (await townEvents(f)).find((e) => e.type === 'agent.completed' && e.agentId === polecat.agent.id);
    expect(completed?.data).toMatchObject({ outcome: 'drained', branch });
    // the alarm is due now, not a heartbeat interval later
    expect(f.alarms.at).not.toBeNull();
    expect(f.alarms.at!).toBeLessThanOrEqual(Date.now());

    await runAlarm(f.town.id);
    const starts = polecatStarts(f, polecat.agent.id);
    expect(starts).toHaveLength(2);
    const [first, again] = [starts[0]!.req, starts[1]!.req];
    expect(again.agent.gen).toBe(first.agent.gen + 1);
    expect(again.credentials.gen).toBe(first.agent.gen + 1);
    expect(again.bead?.id).toBe(bead.id);
    expect(again.instructions).toContain(branch);
    const after = await beadOf(f, bead.id);
    expect(after).toMatchObject({ status: 'in_progress', assigneeId: polecat.agent.id, attempts: 0 });
    expect(after.metadata.drainedBy).toBeUndefined();
    const dispatched = (await townEvents(f)).filter((e) => e.type === 'agent.dispatched' && e.agentId === polecat.agent.id);
    expect(dispatched.at(-1)?.data).toMatchObject({ reason: 'drained', gen: first.agent.gen + 1 });
    // the new run's credentials work; a second alarm pass does not start it again
    expect((await heartbeat(startedAgent(again), { activity: 'working' })).status).toBe(200);
    await runAlarm(f.town.id);
    expect(polecatStarts(f, polecat.agent.id)).toHaveLength(2);
  });

  it('a re-dispatch the draining container refuses (503 container_unavailable) is tried again after a pause: same polecat, no attempt spent', async () => {
    const { f, polecat, bead } = await withWorkingPolecat();
    expect((await complete(polecat, { outcome: 'drained' })).status).toBe(200);
    f.fake.behaviour.startError = new GastownError('container_unavailable', 'container is shutting down');
    await runAlarm(f.town.id);
    expect(polecatStarts(f, polecat.agent.id)).toHaveLength(2);
    const deferred = await beadOf(f, bead.id);
    expect(deferred).toMatchObject({ status: 'in_progress', assigneeId: polecat.agent.id, attempts: 0 });
    expect(deferred.metadata).toMatchObject({ drainedBy: polecat.agent.id, drainRedispatchTries: 1 });
    const retryAt = deferred.metadata.retryAt as number;
    expect(retryAt).toBeGreaterThan(Date.now());
    expect((await townEvents(f)).find((e) => e.type === 'bead.redispatch_deferred')?.data).toMatchObject({ code: 'container_unavailable', tries: 1 });
    // not before the pause is over
    await runAlarm(f.town.id);
    expect(polecatStarts(f, polecat.agent.id)).toHaveLength(2);
    // the next container takes it: the same polecat, a newer generation, still no attempt spent
    f.fake.behaviour.startError = null;
    vi.useFakeTimers({ now: retryAt + 1, toFake: ['Date'] });
    await runAlarm(f.town.id);
    const starts = polecatStarts(f, polecat.agent.id);
    expect(starts).toHaveLength(3);
    expect(starts[2]!.req.agent.gen).toBeGreaterThan(starts[1]!.req.agent.gen);
    expect(await beadOf(f, bead.id)).toMatchObject({ status: 'in_progress', assigneeId: polecat.agent.id, attempts: 0 });
  });

  it('a re-dispatch whose start fails otherwise spends one attempt, as any failed start does', async () => {
    const { f, polecat, bead } = await withWorkingPolecat();
    expect((await complete(polecat, { outcome: 'drained' })).status).toBe(200);
    f.fake.behaviour.startError = new GastownError('upstream_failed', 'the rig could not be fetched');
    await runAlarm(f.town.id);
    expect(polecatStarts(f, polecat.agent.id)).toHaveLength(2);
    expect(await beadOf(f, bead.id)).toMatchObject({ status: 'open', assigneeId: null, attempts: 1 });
  });

  it('a drained polecat the user stopped before the alarm is not re-dispatched: its bead was released to a new polecat', async () => {
    const { f, polecat, bead } = await withWorkingPolecat();
    expect((await complete(polecat, { outcome: 'drained' })).status).toBe(200);
    expect((await call('POST', `/api/towns/${f.town.id}/agents/${polecat.agent.id}/stop`, { token: f.userToken })).status).toBe(200);
    await runAlarm(f.town.id);
    expect(polecatStarts(f, polecat.agent.id)).toHaveLength(1);
    const after = await beadOf(f, bead.id);
    expect(after.assigneeId).not.toBe(polecat.agent.id);
    expect(after.attempts).toBe(0);
  });
});

/** What an ending leaves behind, minus ids and times: the agent's state and the events it caused. */
async function endingOf(outcome: 'stopped' | 'drained', role: 'mayor' | 'refinery'): Promise<unknown> {
  const f = await dispatchTown();
  await sendToMayor(f, 'hello');
  let who = startedAgent(f.fake.of('start')[0]!.req);
  if (role === 'refinery') {
    const { spawnAgent } = await import('../helpers');
    who = await spawnAgent(f.town.id, { role: 'refinery', rigId: f.rig.id });
  }
  await heartbeat(who, { activity: 'waiting' });
  const before = (await townEvents(f)).length;
  const res = await complete(who, { outcome, reason: 'container shutdown' });
  await runAlarm(f.town.id);
  const agent = await agentById(f, who.agent.id);
  const events = (await townEvents(f)).slice(before).map((e: TownEvent) => ({ type: e.type, data: { ...e.data, outcome: undefined } }));
  return {
    response: res.body,
    agent: { status: agent.status, gen: agent.credential.gen, state: agent.credential.state, beadId: agent.beadId },
    events,
    starts: f.fake.of('start').length,
    alarmArmed: f.alarms.at !== null,
    oldToken: (await heartbeat(who)).status,
  };
}

describe('completion drained: mayor and refinery', () => {
  it.each(['mayor', 'refinery'] as const)('%s: drained is exactly stopped', async (role) => {
    const drained = await endingOf('drained', role);
    const stopped = await endingOf('stopped', role);
    expect(drained).toEqual(stopped);
    expect(drained).toMatchObject({ agent: { status: 'exited' }, oldToken: 401 });
  });
});

describe('container stopped (TownContainerDO.onStop → TownDO.containerStopped)', () => {
  it('a working polecat whose container stopped without draining is lost at once and re-dispatched at gen + 1; a repeated notice changes nothing', async () => {
    const { f, polecat, bead } = await withWorkingPolecat();
    vi.useFakeTimers({ now: Date.now() + 10_000, toFake: ['Date'] });
    const town = env.TOWN.get(env.TOWN.idFromName(f.town.id));
    const notice = { exitCode: 137, reason: 'exit' as const, stoppedAt: Date.now() };
    const result = await town.containerStopped(notice);
    // every live run of that container: the polecat and the waiting mayor
    const mayorId = f.fake.of('start')[0]!.req.agent.id;
    expect(result.ok && [...result.value.lost].sort()).toEqual([mayorId, polecat.agent.id].sort());
    const lost = (await townEvents(f)).find((e) => e.type === 'agent.lost' && e.agentId === polecat.agent.id);
    expect(lost?.data).toMatchObject({ reason: 'container_stopped', redispatch: true });
    const again = polecatStarts(f, polecat.agent.id);
    expect(again.map((s) => s.req.agent.gen)).toEqual([1, 2]);
    expect(await beadOf(f, bead.id)).toMatchObject({ status: 'in_progress', assigneeId: polecat.agent.id });
    expectError(await callTool(polecat, 'prime', {}), 401, 'token_revoked');
    // the new run, confirmed after the stop, is not touched by the same notice again
    expect(await town.containerStopped(notice)).toEqual({ ok: true, value: { lost: [] } });
    expect(polecatStarts(f, polecat.agent.id)).toHaveLength(2);
    expect((await townEvents(f)).filter((e) => e.type === 'container.stopped')).toHaveLength(2);
    // a bad notice is a typed refusal
    expect(await town.containerStopped({ exitCode: 0, reason: 'exit', stoppedAt: Number.NaN })).toMatchObject({
      ok: false,
      error: { code: 'validation_failed' },
    });
  });
});
