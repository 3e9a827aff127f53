/**
 * The spend cap: one escalation per period from 80 %; from 100 % the town is capped — nothing new is
 * dispatched, working polecats are asked to stop after their turn and keep their beads (no attempt),
 * the mayor is answered by the control plane — until the cap is raised or removed, or a new period
 * starts; then the work resumes at once.
 */
import { GastownError, type Bead, type MayorMessage, type TownEvent } from '@gastown/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call } from '../helpers';
import { complete, heartbeat, sendToMayor, townEvents, type DispatchFixture } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';
import { patchConfig, reportUsage, slingBead, usageEvent, usageOf, workingTown } from '../support/usage-calls';

afterEach(() => {
  vi.useRealTimers();
});

/** `test-model` costs one micro-dollar a token (a town price override): a call of `micros` tokens costs `micros`. */
const TEST_PRICES = { 'test-model': { inputPerMTok: 1, outputPerMTok: 1 } };
const spend = (micros: number) => usageEvent({ model: 'test-model', inputTokens: micros, outputTokens: 0 });
const dayCap = (limitUsd: number) => ({ spendCap: { period: 'day', limitUsd } });

async function beadOf(f: DispatchFixture, id: string): Promise<Bead> {
  const beads = (await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as Bead[];
  return beads.find((b) => b.id === id)!;
}
const eventsOf = async (f: DispatchFixture, type: string): Promise<TownEvent[]> => (await townEvents(f)).filter((e) => e.type === type);
const startsOf = (f: DispatchFixture, agentId: string) => f.fake.of('start').filter((s) => s.req.agent.id === agentId);
const spendEscalations = async (f: DispatchFixture) =>
  ((await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as Bead[]).filter(
    (b) => b.type === 'escalation' && b.title.startsWith('Spend at'),
  );

/** A working town with a $1/day cap, capped by its polecat's usage. */
async function cappedTown() {
  const t = await workingTown();
  await patchConfig(t.f, { prices: TEST_PRICES, ...dayCap(1) });
  await reportUsage(t.polecat, [spend(600_000), spend(400_000)]);
  return t;
}

describe('spend cap: warning', () => {
  it('escalates once per period from 80 %, and not again as the spend grows', async () => {
    const { f, polecat } = await workingTown();
    await patchConfig(f, { prices: TEST_PRICES, ...dayCap(1) });
    await reportUsage(polecat, [spend(700_000)]);
    expect(await spendEscalations(f)).toEqual([]);
    await reportUsage(polecat, [spend(150_000)]);
    const escalations = await spendEscalations(f);
    expect(escalations.map((b) => b.title)).toEqual(["Spend at 85 % of the town's cap ($1.00 per day)"]);
    expect(escalations[0]!.body).toContain('$0.85 spent since');
    await reportUsage(polecat, [spend(50_000)]);
    expect(await spendEscalations(f)).toHaveLength(1);
    expect((await usageOf(f)).spend).toMatchObject({ spentMicros: 900_000, state: 'warning' });
    expect(await eventsOf(f, 'spend.capped')).toEqual([]);
  });
});

describe('spend cap: capped', () => {
  it('at 100 %: dispatches nothing new, asks the working polecat to stop after its turn; its stop keeps the bead (no attempt); raising the cap resumes at once', async () => {
    const { f, mayor, polecat, bead } = await cappedTown();
    const capped = await eventsOf(f, 'spend.capped');
    expect(capped).toHaveLength(1);
    expect(capped[0]!.data).toMatchObject({ period: 'day', limitUsd: 1, spentMicros: 1_000_000 });
    expect((await usageOf(f)).spend?.state).toBe('capped');
    // the reconciler is due at once, to pause the polecat
    expect(f.alarms.at).not.toBeNull();
    expect(f.alarms.at!).toBeLessThanOrEqual(Date.now());

    // more usage while capped (the call in flight): no second capped event
    await reportUsage(polecat, [spend(10)]);
    expect(await eventsOf(f, 'spend.capped')).toHaveLength(1);

    await runAlarm(f.town.id);
    expect(f.fake.of('stop')).toEqual([{ method: 'stop', agentId: polecat.agent.id, reason: 'spend_cap', afterTurn: true }]);
    const gen = startsOf(f, polecat.agent.id)[0]!.req.agent.gen;
    expect((await beadOf(f, bead.id)).metadata).toMatchObject({ pausedBy: 'spend_cap', pausedGen: gen });
    await runAlarm(f.town.id);
    expect(f.fake.of('stop')).toHaveLength(1); // asked once per run

    // new work waits
    const next = await slingBead(mayor, f.rig.id, 'add a LICENSE');
    const startsBefore = f.fake.of('start').length;
    await runAlarm(f.town.id);
    expect(f.fake.of('start')).toHaveLength(startsBefore);

    // the container stops it after its turn: the bead stays in progress and assigned, no attempt spent
    const done = await complete(polecat, { outcome: 'stopped', reason: 'spend_cap' });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.beadStatus).toBe('in_progress');
    const kept = await beadOf(f, bead.id);
    expect(kept).toMatchObject({ status: 'in_progress', assigneeId: polecat.agent.id, attempts: 0 });
    expect(kept.metadata).toMatchObject({ drainedBy: polecat.agent.id });
    expect(kept.metadata.pausedBy).toBeUndefined();
    await runAlarm(f.town.id);
    expect(f.fake.of('start')).toHaveLength(startsBefore);
    expect(await beadOf(f, next.id)).toMatchObject({ status: 'open', assigneeId: null });

    // raised: resumed, due at once; the same polecat takes its bead again, and the new bead gets one
    await patchConfig(f, dayCap(5));
    expect((await eventsOf(f, 'spend.resumed')).map((e) => e.data.reason)).toEqual(['cap_raised']);
    expect(f.alarms.at!).toBeLessThanOrEqual(Date.now());
    await runAlarm(f.town.id);
    const again = startsOf(f, polecat.agent.id);
    expect(again).toHaveLength(2);
    expect(again[1]!.req.agent.gen).toBe(gen + 1);
    expect(again[1]!.req.bead?.id).toBe(bead.id);
    expect(await beadOf(f, bead.id)).toMatchObject({ status: 'in_progress', assigneeId: polecat.agent.id, attempts: 0 });
    const nextStarts = f.fake.of('start').filter((s) => s.req.bead?.id === next.id);
    expect(nextStarts).toHaveLength(1);
    expect((await usageOf(f)).spend?.state).toBe('ok');
  });

  it('removing the cap resumes too', async () => {
    const { f } = await cappedTown();
    await patchConfig(f, { spendCap: null });
    expect((await eventsOf(f, 'spend.resumed')).map((e) => e.data.reason)).toEqual(['cap_removed']);
    expect((await usageOf(f)).spend).toBeNull();
  });

  it('a cap lowered below the spend caps at once; a polecat that stops while the stop is asked keeps its bead', async () => {
    const { f, polecat, bead } = await workingTown();
    await patchConfig(f, { prices: TEST_PRICES });
    await reportUsage(polecat, [spend(500_000)]);
    // the run is idle: the container stops it at once, and its completion arrives before the stop's answer
    f.fake.behaviour.onStop = async () => {
      expect((await complete(polecat, { outcome: 'stopped', reason: 'spend_cap' })).status).toBe(200);
    };
    await patchConfig(f, dayCap(0.25));
    expect(await eventsOf(f, 'spend.capped')).toHaveLength(1);
    expect(await spendEscalations(f)).toHaveLength(1);
    expect(f.alarms.at!).toBeLessThanOrEqual(Date.now());
    await runAlarm(f.town.id);
    expect(f.fake.of('stop')).toHaveLength(1);
    expect(await beadOf(f, bead.id)).toMatchObject({
      status: 'in_progress',
      assigneeId: polecat.agent.id,
      attempts: 0,
      metadata: { drainedBy: polecat.agent.id },
    });
    const stopRequested = await eventsOf(f, 'agent.stop_requested');
    expect(stopRequested.map((e) => e.data)).toMatchObject([{ reason: 'spend_cap', afterTurn: true }]);
  });

  it('a stop that does not reach the container is asked again a heartbeat interval later', async () => {
    const { f, polecat, bead } = await workingTown();
    await patchConfig(f, { prices: TEST_PRICES, ...dayCap(1) });
    f.fake.behaviour.onStop = async () => {
      throw new GastownError('container_unavailable', 'the container is restarting');
    };
    await reportUsage(polecat, [spend(1_000_000)]);
    await runAlarm(f.town.id);
    expect(f.fake.of('stop')).toHaveLength(1);
    const unmarked = await beadOf(f, bead.id);
    expect(unmarked.metadata.pausedBy).toBeUndefined();
    const retryAt = unmarked.metadata.pauseRetryAt as number;
    expect(retryAt).toBeGreaterThan(Date.now());
    expect((await eventsOf(f, 'agent.stop_failed')).map((e) => e.data.code)).toEqual(['container_unavailable']);
    await runAlarm(f.town.id);
    expect(f.fake.of('stop')).toHaveLength(1);

    f.fake.behaviour.onStop = null;
    vi.useFakeTimers({ now: retryAt + 1, toFake: ['Date'] });
    expect((await heartbeat(polecat, { activity: 'working' })).status).toBe(200);
    await runAlarm(f.town.id);
    expect(f.fake.of('stop')).toHaveLength(2);
    expect((await beadOf(f, bead.id)).metadata).toMatchObject({ pausedBy: 'spend_cap' });
  });

  it('a new period resumes by itself: the reconciler notices the rollover and dispatches again', async () => {
    const real = new Date();
    const midnight = Date.UTC(real.getUTCFullYear(), real.getUTCMonth(), real.getUTCDate() + 1);
    vi.useFakeTimers({ now: midnight - 5 * 60_000, toFake: ['Date'] });
    const { f, mayor, polecat, bead } = await cappedTown();
    await runAlarm(f.town.id);
    expect((await complete(polecat, { outcome: 'stopped', reason: 'spend_cap' })).status).toBe(200);
    await runAlarm(f.town.id);
    // capped: it looks again no later than the period's end
    expect(f.alarms.at).not.toBeNull();
    expect(f.alarms.at!).toBeLessThanOrEqual(midnight);
    const startsBefore = startsOf(f, polecat.agent.id).length;

    vi.setSystemTime(midnight + 1000);
    expect((await heartbeat(mayor, { activity: 'waiting' })).status).toBe(200);
    await runAlarm(f.town.id);
    expect((await eventsOf(f, 'spend.resumed')).map((e) => e.data)).toMatchObject([{ reason: 'new_period', periodStart: midnight, spentMicros: 0 }]);
    expect(startsOf(f, polecat.agent.id)).toHaveLength(startsBefore + 1);
    expect(await beadOf(f, bead.id)).toMatchObject({ status: 'in_progress', assigneeId: polecat.agent.id, attempts: 0 });
  });
});

describe('spend cap: the mayor', () => {
  it('while capped, a message is stored, not delivered, and answered by the control plane as the mayor’s reply', async () => {
    const { f, mayor } = await cappedTown();
    const toContainer = () => f.fake.of('deliver').length + f.fake.of('start').length;
    const before = toContainer();
    const last = (await townEvents(f)).at(-1)!.id;

    const res = await sendToMayor(f, 'what is the status?');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.delivery).toBe('stored');
    expect(res.body.message).toMatchObject({ text: 'what is the status?', deliveredAt: null });
    expect(toContainer()).toBe(before);

    const reply = (await townEvents(f)).filter((e) => e.id > last && e.agentId === mayor.agent.id && (e.type === 'agent.text' || e.type === 'session.idle'));
    expect(reply.map((e) => e.type)).toEqual(['agent.text', 'session.idle']);
    const today = new Date().toISOString().slice(0, 10);
    expect(reply[0]!.data.text).toBe(
      `The town's spend cap ($1.00 per day) is reached: $1.00 spent since ${today} (UTC). Raise it in the town settings (or \`gastown config set spendCap.limitUsd …\`) to continue.`,
    );
    const messages = (await call('GET', `/api/towns/${f.town.id}/mayor/messages`, { token: f.userToken })).body.messages as MayorMessage[];
    expect(messages.find((m) => m.id === res.body.message.id)?.deliveredAt).toBeNull();

    // once raised, the stored message goes to the mayor with the next one
    await patchConfig(f, dayCap(5));
    expect((await sendToMayor(f, 'and now?')).body.delivery).toBe('delivered');
    const delivered = f.fake.of('deliver').at(-1)!;
    expect(delivered.agentId).toBe(mayor.agent.id);
    expect(delivered.req.text).toContain('what is the status?');
    expect(delivered.req.text).toContain('and now?');
  });
});
