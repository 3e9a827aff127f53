/**
 * Heartbeats held in the TownDO's memory (issue 17, src/town/liveness-memory.ts) across a restart of
 * the object. A heartbeat that changes nothing but the time is not written to SQLite; the alarm
 * flushes those times. After a restart (here: every Durable Object aborted, storage kept — what a
 * deploy or an eviction does) the reconciler judges an agent heard in its run at
 * max(stored, min(stored + F, restart)) with F = (missedHeartbeats − 1) × interval, so:
 *   - a live agent heard only in memory is not declared lost right after the restart;
 *   - a lost agent is still detected and re-dispatched, within missedHeartbeats × interval + F of
 *     its last heartbeat (packages/worker/README.md, liveness).
 */
import { TOOLS, type Bead, type CredentialStatus } from '@gastown/protocol';
import { abortAllDurableObjects, env, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, callTool, type AgentWithCredentials, type CallResult } from '../helpers';
import { credentialStatus, dispatchTown, heartbeat, sendToMayor, startedAgent, townEvents, agentById, type DispatchFixture } from '../support/agent-calls';
import { runAlarm, withTownSql } from '../support/fake-container';

const HB_MS = 30_000;
const WINDOW_MS = 3 * HB_MS; // missedHeartbeats × interval (defaults)
const FLUSH_MS = 2 * HB_MS; // (missedHeartbeats − 1) × interval

afterEach(() => {
  vi.useRealTimers();
});

function at(t: number): void {
  vi.setSystemTime(t);
}

/** A credential report that stays the same from beat to beat (as a broker's does between refreshes). */
function steadyReport(expiresAt: number): CredentialStatus {
  return credentialStatus({ accessTokenExpiresAt: expiresAt });
}

/** A heartbeat that repeats the previous one but for its time. */
function steadyBeat(who: AgentWithCredentials, activity: 'working' | 'waiting'): Promise<CallResult> {
  return call('POST', `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/heartbeat`, {
    token: who.token,
    body: {
      containerInstanceId: 'ci_one',
      runtimeState: 'running',
      activity,
      credential: steadyReport(who.credentials.accessTokenExpiresAt),
      pid: 42,
      sessionId: 'ses_1',
    },
  });
}

async function storedHeartbeat(f: DispatchFixture, agentId: string): Promise<number | null> {
  return withTownSql(f.town.id, (sql) => sql.exec<{ t: number | null }>('SELECT last_heartbeat_at AS t FROM agents WHERE id = ?', agentId).one().t);
}

/** Every Durable Object starts again on its next request (storage kept); returns whether this town's object is a new instance. */
async function restartObjects(f: DispatchFixture): Promise<boolean> {
  const stub = () => env.TOWN.get(env.TOWN.idFromName(f.town.id));
  const before = await runInDurableObject(stub(), (instance) => instance);
  await abortAllDurableObjects();
  const after = await runInDurableObject(stub(), (instance) => instance);
  return before !== after;
}

/** A waiting mayor and a working polecat on a bead, both heard once at `t0` (stored), steady beats after that. */
async function townWithPolecat(t0: number): Promise<{ f: DispatchFixture; mayor: AgentWithCredentials; polecat: AgentWithCredentials; bead: Bead }> {
  at(t0 - 5_000);
  const f = await dispatchTown();
  await sendToMayor(f, 'please work');
  const mayor = startedAgent(f.fake.of('start')[0]!.req);
  expect((await steadyBeat(mayor, 'waiting')).status).toBe(200);
  const bead = TOOLS.sling.result.parse((await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'add a README', body: 'one paragraph' })).body).bead;
  await runAlarm(f.town.id);
  const polecat = startedAgent(f.fake.of('start').at(-1)!.req);
  at(t0);
  expect((await steadyBeat(polecat, 'working')).status).toBe(200);
  expect((await steadyBeat(mayor, 'waiting')).status).toBe(200);
  expect(await storedHeartbeat(f, polecat.agent.id)).toBe(t0);
  return { f, mayor, polecat, bead };
}

const startsOf = (f: DispatchFixture, agentId: string) => f.fake.of('start').filter((s) => s.req.agent.id === agentId);

describe('liveness in memory across a restart of the TownDO', () => {
  it('steady heartbeats stay in memory (views see them), the alarm writes them to storage', async () => {
    const t0 = Date.now() + 60_000;
    const { f, polecat } = await townWithPolecat(t0);
    at(t0 + HB_MS);
    const res = await steadyBeat(polecat, 'working');
    expect(res.status).toBe(200);
    expect(res.body.serverTime).toBe(t0 + HB_MS);
    expect(await storedHeartbeat(f, polecat.agent.id)).toBe(t0); // not written
    expect((await agentById(f, polecat.agent.id)).lastHeartbeatAt).toBe(t0 + HB_MS); // but seen
    await runAlarm(f.town.id);
    expect(await storedHeartbeat(f, polecat.agent.id)).toBe(t0 + HB_MS); // flushed by the alarm
    // a heartbeat that changes something is written at once, with its event
    at(t0 + 2 * HB_MS);
    expect((await heartbeat(polecat, { activity: 'waiting' })).status).toBe(200);
    expect(await storedHeartbeat(f, polecat.agent.id)).toBe(t0 + 2 * HB_MS);
    expect((await townEvents(f)).filter((e) => e.type === 'agent.status_changed' && e.agentId === polecat.agent.id).at(-1)?.data).toEqual({
      from: 'working',
      to: 'waiting',
    });
  });

  it('a live agent heard only in memory before a restart is not declared lost right after it', async () => {
    const t0 = Date.now() + 60_000;
    const { f, mayor, polecat } = await townWithPolecat(t0);
    for (const t of [t0 + HB_MS, t0 + 2 * HB_MS]) {
      at(t);
      expect((await steadyBeat(polecat, 'working')).status).toBe(200);
      expect((await steadyBeat(mayor, 'waiting')).status).toBe(200);
    }
    expect(await storedHeartbeat(f, polecat.agent.id)).toBe(t0); // both beats in memory only

    // past the stored heartbeat's window (t0 + 90 s): the object restarts, its memory is gone
    at(t0 + WINDOW_MS + 5_000);
    expect(await restartObjects(f)).toBe(true);
    await runAlarm(f.town.id);
    expect(startsOf(f, polecat.agent.id)).toHaveLength(1);
    expect((await townEvents(f)).filter((e) => e.type === 'agent.lost')).toEqual([]);
    expect((await agentById(f, polecat.agent.id)).status).toBe('working');
    expect((await agentById(f, mayor.agent.id)).status).toBe('waiting');
    // and it goes on beating: still its first run
    expect((await steadyBeat(polecat, 'working')).status).toBe(200);
    await runAlarm(f.town.id);
    expect(startsOf(f, polecat.agent.id)).toHaveLength(1);
  });

  it('restarted mid-run: a polecat that then goes silent is detected and re-dispatched within missedHeartbeats × interval + F of its last heartbeat', async () => {
    const t0 = Date.now() + 60_000;
    const { f, mayor, polecat } = await townWithPolecat(t0);
    // the polecat's last heartbeat, held in memory only
    const lastHeard = t0 + HB_MS;
    at(lastHeard);
    expect((await steadyBeat(polecat, 'working')).status).toBe(200);
    expect((await steadyBeat(mayor, 'waiting')).status).toBe(200);
    expect(await storedHeartbeat(f, polecat.agent.id)).toBe(t0);

    at(lastHeard + 40_000);
    expect(await restartObjects(f)).toBe(true);
    // judged heard at min(stored + F, restart) = t0 + 60 s: deadline t0 + 150 s
    const deadline = t0 + FLUSH_MS + WINDOW_MS;
    expect(deadline).toBeLessThanOrEqual(lastHeard + WINDOW_MS + FLUSH_MS);
    // more restarts (each one an eviction) do not postpone it: min(stored + F, restart) is bounded by storage
    for (const t of [lastHeard + 60_000, deadline - 1_000]) {
      at(t);
      expect(await restartObjects(f)).toBe(true);
      expect((await steadyBeat(mayor, 'waiting')).status).toBe(200);
      await runAlarm(f.town.id);
      expect(startsOf(f, polecat.agent.id)).toHaveLength(1); // not yet
    }

    at(deadline + 1_000);
    expect((await steadyBeat(mayor, 'waiting')).status).toBe(200);
    await runAlarm(f.town.id);
    const starts = startsOf(f, polecat.agent.id);
    expect(starts).toHaveLength(2);
    expect(starts[1]!.req.agent.gen).toBe(starts[0]!.req.agent.gen + 1);
    expect((await townEvents(f)).find((e) => e.type === 'agent.lost' && e.agentId === polecat.agent.id)?.data).toMatchObject({
      reason: 'missed_heartbeats',
      redispatch: true,
    });
    // the mayor kept beating (in memory, across the restart): untouched
    expect((await agentById(f, mayor.agent.id)).credential.gen).toBe(1);
    expect((await steadyBeat(polecat, 'working')).status).toBe(401);
  });

  it('without a restart, a polecat heard in memory is lost missedHeartbeats × interval after its last heartbeat, as before', async () => {
    const t0 = Date.now() + 60_000;
    const { f, mayor, polecat } = await townWithPolecat(t0);
    const lastHeard = t0 + HB_MS;
    at(lastHeard);
    expect((await steadyBeat(polecat, 'working')).status).toBe(200);
    at(lastHeard + WINDOW_MS - 1_000);
    expect((await steadyBeat(mayor, 'waiting')).status).toBe(200);
    await runAlarm(f.town.id);
    expect(startsOf(f, polecat.agent.id)).toHaveLength(1);
    at(lastHeard + WINDOW_MS + 1_000);
    expect((await steadyBeat(mayor, 'waiting')).status).toBe(200);
    await runAlarm(f.town.id);
    expect(startsOf(f, polecat.agent.id)).toHaveLength(2);
  });
});
