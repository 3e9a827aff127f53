import { GastownError, TOOLS, type Bead } from '@gastown/protocol';
import { env, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, callTool, createTown, createUserToken, expectError, type AgentWithCredentials } from '../helpers';
import {
  agentById,
  agentsOf,
  complete,
  dispatchTown,
  heartbeat,
  refreshIfDue,
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

/** Fake time: move the clock of the worker and its Durable Objects forward. */
function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

async function beads(f: DispatchFixture): Promise<Bead[]> {
  return (await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as Bead[];
}

/** A running mayor (started by a message) that slings one bead. */
async function withMayorAndBead(f: DispatchFixture, title = 'add a README'): Promise<{ mayor: AgentWithCredentials; bead: Bead }> {
  await sendToMayor(f, 'please work');
  const mayor = startedAgent(f.fake.of('start')[0]!.req);
  await heartbeat(mayor, { activity: 'waiting' });
  const bead = TOOLS.sling.result.parse((await callTool(mayor, 'sling', { rigId: f.rig.id, title, body: 'one paragraph' })).body).bead;
  return { mayor, bead };
}

describe('reconciler: dispatch of open beads', () => {
  it('an open bead: the alarm creates a polecat and starts it on the bead (worktree branch in its briefing)', async () => {
    const f = await dispatchTown();
    const { bead } = await withMayorAndBead(f);
    expect(f.alarms.at).not.toBeNull(); // sling armed the alarm
    await runAlarm(f.town.id);
    const start = f.fake.of('start').at(-1)!.req;
    expect(start).toMatchObject({ agent: { role: 'polecat', rigId: f.rig.id, gen: 1 }, bead: { id: bead.id, title: 'add a README' }, rig: { id: f.rig.id } });
    expect(start.instructions).toContain(`gt/${start.agent.id}/${bead.id}`);
    expect(start.prompt).toContain('add a README');
    expect((await beads(f)).find((b) => b.id === bead.id)).toMatchObject({ status: 'in_progress', assigneeId: start.agent.id });
    expect((await agentById(f, start.agent.id)).status).toBe('working');
  });

  it('retry backoff: a failed start spends an attempt and waits; at the third failure the bead fails with an escalation', async () => {
    const f = await dispatchTown();
    const { bead } = await withMayorAndBead(f);
    f.fake.behaviour.startError = new GastownError('upstream_failed', 'container: clone failed');
    await runAlarm(f.town.id);
    let b = (await beads(f)).find((x) => x.id === bead.id)!;
    expect(b).toMatchObject({ status: 'open', attempts: 1, assigneeId: null });
    // why, for `gastown beads` / `status` and the dashboard
    expect(b.metadata.lastFailure).toEqual({ reason: 'polecat start failed: container: clone failed', at: expect.any(Number) });
    const retryAt = b.metadata.retryAt as number;
    expect(retryAt - Date.now()).toBeGreaterThan(25_000);
    expect(f.alarms.at).toBe(retryAt); // re-armed to the retry time

    const starts = () => f.fake.of('start').filter((s) => s.req.agent.role === 'polecat').length;
    await runAlarm(f.town.id); // too early: nothing
    expect(starts()).toBe(1);

    vi.setSystemTime(retryAt + 1);
    await runAlarm(f.town.id);
    expect(starts()).toBe(2);
    b = (await beads(f)).find((x) => x.id === bead.id)!;
    expect(b.attempts).toBe(2);
    expect((b.metadata.retryAt as number) - Date.now()).toBeGreaterThan(55_000); // doubled

    vi.setSystemTime((b.metadata.retryAt as number) + 1);
    await runAlarm(f.town.id);
    expect(starts()).toBe(3);
    b = (await beads(f)).find((x) => x.id === bead.id)!;
    expect(b).toMatchObject({
      status: 'failed',
      attempts: 3,
      metadata: expect.objectContaining({ lastFailure: expect.objectContaining({ reason: expect.stringContaining('clone failed') }) }),
    });
    const escalations = (await beads(f)).filter((x) => x.type === 'escalation');
    expect(escalations).toEqual([expect.objectContaining({ metadata: expect.objectContaining({ relatedBeadId: bead.id, severity: 'high' }) })]);
    await runAlarm(f.town.id);
    expect(starts()).toBe(3); // capped
  });
});

describe('reconciler: a container that cannot be had', () => {
  it('starts refused as container_unavailable (cold start, rollout, 429) spend no attempt and wait 2 s doubling; past 8 such starts they count', async () => {
    const f = await dispatchTown();
    const { bead } = await withMayorAndBead(f);
    f.fake.behaviour.startError = new GastownError('container_unavailable', 'no Container instance available');
    const starts = () => f.fake.of('start').filter((s) => s.req.agent.role === 'polecat').length;
    const pauses: number[] = [];
    vi.setSystemTime(Date.now()); // the clock stands still between the start and the reading
    for (let i = 1; i <= 8; i += 1) {
      await runAlarm(f.town.id);
      expect(starts()).toBe(i);
      const b = (await beads(f)).find((x) => x.id === bead.id)!;
      expect(b).toMatchObject({ status: 'open', attempts: 0, assigneeId: null, metadata: expect.objectContaining({ containerUnavailableTries: i }) });
      pauses.push((b.metadata.retryAt as number) - Date.now());
      vi.setSystemTime((b.metadata.retryAt as number) + 1);
    }
    expect(pauses).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    // the ninth is an ordinary failed attempt
    await runAlarm(f.town.id);
    expect((await beads(f)).find((x) => x.id === bead.id)).toMatchObject({ status: 'open', attempts: 1 });
    // and once the container answers, the bead is worked
    f.fake.behaviour.startError = null;
    vi.setSystemTime(((await beads(f)).find((x) => x.id === bead.id)!.metadata.retryAt as number) + 1);
    await runAlarm(f.town.id);
    expect((await beads(f)).find((x) => x.id === bead.id)).toMatchObject({ status: 'in_progress', attempts: 1 });
  });
});

describe('reconciler: liveness', () => {
  it('a working polecat silent for more than 3 heartbeat intervals: re-dispatched with gen + 1; its old token → 401 token_revoked', async () => {
    const f = await dispatchTown();
    const { mayor } = await withMayorAndBead(f);
    await runAlarm(f.town.id);
    const polecat = startedAgent(f.fake.of('start').at(-1)!.req);
    await heartbeat(polecat, { activity: 'working' });

    advance(3 * HB_MS - 1000);
    await heartbeat(mayor, { activity: 'waiting' });
    await runAlarm(f.town.id);
    expect(f.fake.of('start').filter((s) => s.req.agent.id === polecat.agent.id)).toHaveLength(1); // not yet

    advance(2000);
    await heartbeat(mayor, { activity: 'waiting' });
    await runAlarm(f.town.id);
    const restarts = f.fake.of('start').filter((s) => s.req.agent.id === polecat.agent.id);
    expect(restarts).toHaveLength(2);
    // one generation per run: the lost-run revocation and the re-dispatch share gen + 1
    expect(restarts[1]!.req.agent.gen).toBe(restarts[0]!.req.agent.gen + 1);
    expect(restarts[1]!.req.credentials.gen).toBe(restarts[0]!.req.agent.gen + 1);
    expect(restarts[1]!.req.bead?.id).toBe(polecat.agent.id === restarts[1]!.req.agent.id ? restarts[0]!.req.bead?.id : undefined);
    expectError(await heartbeat(polecat), 401, 'token_revoked');
    expect((await townEvents(f)).find((e) => e.type === 'agent.lost')?.data).toMatchObject({ reason: 'missed_heartbeats', redispatch: true });
    // the mayor kept heartbeating: untouched
    expect((await agentById(f, mayor.agent.id)).credential.gen).toBe(1);
  });

  it('a new container instance: every agent of the old one gets gen + 1 (old tokens → 401); the polecat with work is re-dispatched, the waiting mayor only marked exited', async () => {
    const f = await dispatchTown();
    const { mayor, bead } = await withMayorAndBead(f);
    await runAlarm(f.town.id);
    const polecat = startedAgent(f.fake.of('start').at(-1)!.req);
    await heartbeat(polecat, { activity: 'working', containerInstanceId: 'ci_one' });
    const startsBefore = f.fake.of('start').length;

    // the container restarted: a re-dispatched agent (here: a brand-new refinery) heartbeats from ci_two
    const { spawnAgent } = await import('../helpers');
    const other = await spawnAgent(f.town.id, { role: 'refinery', rigId: f.rig.id });
    advance(1000);
    expect((await heartbeat(other, { containerInstanceId: 'ci_two', activity: 'waiting' })).status).toBe(200);
    await runAlarm(f.town.id);

    expectError(await heartbeat(polecat), 401, 'token_revoked');
    expectError(await callTool(mayor, 'list_rigs'), 401, 'token_revoked');
    const mayorNow = await agentById(f, mayor.agent.id);
    expect(mayorNow).toMatchObject({ status: 'exited', credential: { gen: 2 } });
    const restarted = f.fake.of('start').slice(startsBefore);
    expect(restarted.map((s) => s.req.agent.id)).toEqual([polecat.agent.id]);
    expect(restarted[0]!.req.bead?.id).toBe(bead.id);
    expect(restarted[0]!.req.agent.gen).toBe(polecat.credentials.gen + 1);
    // the agent on the new instance is untouched
    expect((await heartbeat(other, { containerInstanceId: 'ci_two' })).status).toBe(200);
    // no container call besides the one start: the dead agents were not contacted
    expect(
      f.fake
        .containerCalls()
        .slice(startsBefore)
        .map((c) => c.method),
    ).toEqual(['start']);
    // the mayor starts again on the next message
    expect((await sendToMayor(f, 'back?')).body.delivery).toBe('started');
  });

  it('completion on sleep ("container shutdown"): agent exited, no re-dispatch, no container contact, alarm off', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'hi');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'waiting' });
    const calls = f.fake.containerCalls().length;
    expect((await complete(mayor, { outcome: 'stopped', reason: 'container shutdown' })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      advance(10 * HB_MS);
      await runAlarm(f.town.id);
    }
    expect((await agentById(f, mayor.agent.id)).status).toBe('exited');
    expect(f.fake.containerCalls()).toHaveLength(calls);
    expect(f.alarms.at).toBeNull();
  });
});

describe('reconciler: an idle town is left alone', () => {
  it('a waiting mayor: zero ContainerClient calls across many alarm runs; when its heartbeats stop it is marked exited and the alarm goes off', async () => {
    const f = await dispatchTown();
    // short tokens, so the 75 % point passes at almost every alarm run
    expect((await call('PATCH', `/api/towns/${f.town.id}/config`, { token: f.userToken, body: { agentTokenTtlSeconds: 120 } })).status).toBe(200);
    await sendToMayor(f, 'hi');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'waiting' });
    const baseline = f.fake.calls.length;

    // 40 minutes of a waiting mayor whose broker refreshes late (at 80 %, outbound only): a heartbeat
    // and an alarm run every interval; its token is past 75 % at every fourth run
    let pastBackstopPoint = 0;
    for (let i = 0; i < 80; i++) {
      advance(HB_MS);
      await refreshIfDue(mayor, 0.8);
      expect((await heartbeat(mayor, { activity: 'waiting' })).status).toBe(200);
      const c = mayor.credentials;
      if (Date.now() >= c.accessTokenIssuedAt + 0.75 * (c.accessTokenExpiresAt - c.accessTokenIssuedAt)) pastBackstopPoint += 1;
      await runAlarm(f.town.id);
      expect(f.alarms.at).not.toBeNull();
    }
    expect(pastBackstopPoint).toBeGreaterThan(10);
    expect(f.fake.calls.slice(baseline)).toEqual([]);

    // the container vanished without a word: after 3 silent intervals the mayor is exited, still without a call
    advance(3 * HB_MS + 1000);
    await runAlarm(f.town.id);
    expect((await agentById(f, mayor.agent.id)).status).toBe('exited');
    expect(f.fake.calls.slice(baseline)).toEqual([]);
    expect(f.alarms.at).toBeNull();
    await runAlarm(f.town.id);
    expect(f.alarms.at).toBeNull();
  }, 30_000);

  it('a new town with the real storage alarm: no alarm is armed', async () => {
    const token = await createUserToken();
    const town = await createTown(token);
    await call('GET', `/api/towns/${town.id}/agents`, { token });
    const alarm = await runInDurableObject(env.TOWN.get(env.TOWN.idFromName(town.id)), (_i, state) => state.storage.getAlarm());
    expect(alarm).toBeNull();
  });
});

describe('reconciler: credential backstop', () => {
  it('pushes a fresh token only to a working agent past 75 % of its token life; never to a waiting one', async () => {
    const f = await dispatchTown();
    const { mayor } = await withMayorAndBead(f);
    await runAlarm(f.town.id);
    const polecat = startedAgent(f.fake.of('start').at(-1)!.req);

    // 60 % of the hour: nothing (the reconciler only sees what the heartbeats left when the alarm runs)
    advance(2_160_000);
    await heartbeat(polecat, { activity: 'working' });
    await heartbeat(mayor, { activity: 'waiting' });
    await runAlarm(f.town.id);
    expect(f.fake.of('push')).toEqual([]);

    // 76 %: the working polecat gets one push; the waiting mayor (its token is as old) none
    advance(576_000);
    await heartbeat(polecat, { activity: 'working' });
    await heartbeat(mayor, { activity: 'waiting' });
    await runAlarm(f.town.id);
    const pushes = f.fake.of('push');
    expect(pushes.map((p) => p.agentId)).toEqual([polecat.agent.id]);
    expect(pushes[0]!.req).toMatchObject({ grant: { gen: 1 }, refresh: null });
    const pushed = pushes[0]!.req.grant.accessToken;
    expect((await callTool({ ...polecat, token: pushed }, 'prime')).status).toBe(200);
    // the push restarted the 75 % clock: the next alarm pushes nothing
    await runAlarm(f.town.id);
    expect(f.fake.of('push')).toHaveLength(1);
    expect((await agentsOf(f)).find((a) => a.id === mayor.agent.id)?.status).toBe('waiting');
  });

  it('no push when the working agent has not been heard from within 2 heartbeat intervals', async () => {
    const f = await dispatchTown();
    await withMayorAndBead(f);
    await runAlarm(f.town.id);
    const polecat = startedAgent(f.fake.of('start').at(-1)!.req);
    await heartbeat(polecat, { activity: 'working' });
    advance(2_700_000 + 2 * HB_MS + 1000); // past 75 %, and silent for more than 2 intervals
    await runAlarm(f.town.id);
    expect(f.fake.of('push')).toEqual([]);
  });
});
