/**
 * Recovering stuck work: escalations listed (filters, pagination), acknowledged and resolved; an
 * agent restarted (a new run, gen + 1; a polecat keeps its bead). Owner checks (another user's →
 * 404), validation (400), no token (401).
 */
import { EscalationListResponseSchema, EscalationResponseSchema, RestartAgentResponseSchema, USER_API, routePath, type Bead } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call, callTool, createUserToken, expectError, setupTown, type TownFixture } from '../helpers';
import { agentById, dispatchTown, heartbeat, startedAgent, townEvents } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';

const listPath = (townId: string, query = '') => routePath(USER_API.escalations, { townId }) + query;
const ackPath = (townId: string, beadId: string) => routePath(USER_API.acknowledgeEscalation, { townId, beadId });
const resolvePath = (townId: string, beadId: string) => routePath(USER_API.resolveEscalation, { townId, beadId });
const restartPath = (townId: string, agentId: string) => routePath(USER_API.restartAgent, { townId, agentId });

async function escalate(f: TownFixture, title: string, severity: 'low' | 'medium' | 'high', who = f.mayor): Promise<Bead> {
  const res = await callTool(who, 'escalate', { title, body: 'help', severity });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.bead as Bead;
}

describe('escalations', () => {
  it('list → acknowledge (stays open, acknowledgedAt/By) → resolve (closed); the state filter follows; both idempotent', async () => {
    const f = await setupTown();
    const a = await escalate(f, 'first', 'high');
    const b = await escalate(f, 'second', 'low', f.polecat);
    const all = EscalationListResponseSchema.parse((await call('GET', listPath(f.town.id), { token: f.userToken })).body);
    expect(all.escalations.map((e) => e.id)).toEqual([a.id, b.id]);

    const acked = await call('POST', ackPath(f.town.id, a.id), { token: f.userToken, body: { note: 'on it' } });
    expect(acked.status, JSON.stringify(acked.body)).toBe(200);
    const ack = EscalationResponseSchema.parse(acked.body).escalation;
    expect(ack.status).toBe('open');
    expect(ack.metadata).toMatchObject({ acknowledgedAt: expect.any(Number), acknowledgedBy: expect.any(String), acknowledgeNote: 'on it', severity: 'high' });
    const again = EscalationResponseSchema.parse((await call('POST', ackPath(f.town.id, a.id), { token: f.userToken, body: {} })).body).escalation;
    expect(again.metadata.acknowledgedAt).toBe(ack.metadata.acknowledgedAt);

    const byState = async (state: string) =>
      EscalationListResponseSchema.parse((await call('GET', listPath(f.town.id, `?state=${state}`), { token: f.userToken })).body).escalations.map((e) => e.id);
    expect(await byState('acknowledged')).toEqual([a.id]);
    expect(await byState('open')).toEqual([b.id]);

    const resolved = EscalationResponseSchema.parse(
      (await call('POST', resolvePath(f.town.id, b.id), { token: f.userToken, body: { resolution: 'done' } })).body,
    );
    expect(resolved.escalation.status).toBe('closed');
    expect(resolved.escalation.metadata).toMatchObject({ resolvedAt: expect.any(Number), resolution: 'done' });
    expect((await call('POST', resolvePath(f.town.id, b.id), { token: f.userToken, body: {} })).status).toBe(200);
    expect(await byState('resolved')).toEqual([b.id]);
    const severe = EscalationListResponseSchema.parse((await call('GET', listPath(f.town.id, '?severity=high'), { token: f.userToken })).body);
    expect(severe.escalations.map((e) => e.id)).toEqual([a.id]);
    const types = (await townEvents(f)).map((e) => e.type);
    expect(types.filter((t) => t === 'escalation.acknowledged')).toHaveLength(1);
    expect(types.filter((t) => t === 'escalation.resolved')).toHaveLength(1);
  });

  it('pagination: limit and nextCursor walk every escalation once; bounds and a foreign cursor → 400', async () => {
    const f = await setupTown();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await escalate(f, `e${i}`, 'medium')).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call('GET', listPath(f.town.id, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`), { token: f.userToken });
      const page = EscalationListResponseSchema.parse(res.body);
      expect(page.escalations.length).toBeLessThanOrEqual(2);
      seen.push(...page.escalations.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    for (const query of ['?limit=0', '?limit=1000', '?cursor=%21%21', '?state=maybe', '?severity=urgent', '?other=1']) {
      expectError(await call('GET', listPath(f.town.id, query), { token: f.userToken }), 400, 'validation_failed');
    }
  });

  it('a bead that is not an escalation, an unknown id → 404; bad bodies → 400', async () => {
    const f = await setupTown();
    const e = await escalate(f, 'x', 'low');
    expectError(await call('POST', ackPath(f.town.id, f.bead.id), { token: f.userToken, body: {} }), 404, 'not_found');
    expectError(await call('POST', resolvePath(f.town.id, 'bd_doesnotexist1'), { token: f.userToken, body: {} }), 404, 'not_found');
    expectError(await call('POST', ackPath(f.town.id, e.id), { token: f.userToken, body: { note: 'x'.repeat(501) } }), 400, 'validation_failed');
    expectError(await call('POST', resolvePath(f.town.id, e.id), { token: f.userToken, body: { other: 1 } }), 400, 'validation_failed');
  });

  it("another user's town → 404 on every route; no token → 401; nothing changes", async () => {
    const f = await setupTown();
    const e = await escalate(f, 'x', 'low');
    const stranger = await createUserToken();
    expectError(await call('GET', listPath(f.town.id), { token: stranger }), 404, 'not_found');
    expectError(await call('POST', ackPath(f.town.id, e.id), { token: stranger, body: {} }), 404, 'not_found');
    expectError(await call('POST', resolvePath(f.town.id, e.id), { token: stranger, body: {} }), 404, 'not_found');
    expectError(await call('GET', listPath(f.town.id)), 401, 'token_missing');
    expectError(await call('POST', resolvePath(f.town.id, e.id), { body: {} }), 401, 'token_missing');
    const [still] = EscalationListResponseSchema.parse((await call('GET', listPath(f.town.id), { token: f.userToken })).body).escalations;
    expect(still!.status).toBe('open');
    expect(still!.metadata.acknowledgedAt).toBeUndefined();
  });
});

describe('POST /api/towns/:townId/agents/:agentId/restart', () => {
  it('a working polecat: a new run at gen + 1 on the same bead, no attempt spent; its old token answers 401', async () => {
    const f = await dispatchTown();
    const bead = (await call('POST', routePath(USER_API.beads, { townId: f.town.id }), { token: f.userToken, body: { rigId: f.rig.id, title: 'work' } })).body
      .bead as Bead;
    await runAlarm(f.town.id);
    const first = f.fake.of('start').find((s) => s.req.bead?.id === bead.id)!;
    const polecat = startedAgent(first.req);
    const attemptsBefore = ((await call('GET', routePath(USER_API.bead, { townId: f.town.id, beadId: bead.id }), { token: f.userToken })).body.bead as Bead)
      .attempts;
    f.fake.calls.length = 0;
    const res = await call('POST', restartPath(f.town.id, polecat.agent.id), { token: f.userToken, body: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = RestartAgentResponseSchema.parse(res.body);
    expect(body.previousGen).toBe(first.req.agent.gen);
    expect(body.agent.credential.gen).toBe(first.req.agent.gen + 1);
    expect(body.agent.beadId).toBe(bead.id);
    const restarted = f.fake.of('start');
    expect(restarted).toHaveLength(1);
    expect(restarted[0]!.req.agent.gen).toBe(first.req.agent.gen + 1);
    expect(restarted[0]!.req.bead?.id).toBe(bead.id);
    const after = (await call('GET', routePath(USER_API.bead, { townId: f.town.id, beadId: bead.id }), { token: f.userToken })).body.bead as Bead;
    expect(after).toMatchObject({ status: 'in_progress', assigneeId: polecat.agent.id, attempts: attemptsBefore });
    expectError(await heartbeat(polecat), 401, 'token_revoked');
    expect((await heartbeat(startedAgent(restarted[0]!.req))).status).toBe(200);
    expect((await townEvents(f)).filter((e) => e.type === 'agent.restart_requested').map((e) => e.agentId)).toEqual([polecat.agent.id]);
  });

  it('the mayor restarts (gen + 1); a stopped polecat → 409; an idle refinery → 409', async () => {
    const f = await dispatchTown();
    const mayor = (await call('GET', routePath(USER_API.agents, { townId: f.town.id }), { token: f.userToken })).body.agents.find(
      (a: { role: string }) => a.role === 'mayor',
    );
    const res = await call('POST', restartPath(f.town.id, mayor.id), { token: f.userToken, body: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(RestartAgentResponseSchema.parse(res.body).agent.credential.gen).toBe(mayor.credential.gen + 1);

    const bead = (await call('POST', routePath(USER_API.beads, { townId: f.town.id }), { token: f.userToken, body: { rigId: f.rig.id, title: 'w' } })).body
      .bead as Bead;
    await runAlarm(f.town.id);
    const polecatId = f.fake.of('start').find((s) => s.req.bead?.id === bead.id)!.req.agent.id;
    expect((await call('POST', routePath(USER_API.stopAgent, { townId: f.town.id, agentId: polecatId }), { token: f.userToken })).status).toBe(200);
    expectError(await call('POST', restartPath(f.town.id, polecatId), { token: f.userToken, body: {} }), 409, 'conflict');
    expect((await agentById(f, polecatId)).status).toBe('stopped');
  });

  it("another user's agent, an unknown agent → 404; a bad body → 400; no token → 401; nothing starts", async () => {
    const f = await dispatchTown();
    const mayor = (await call('GET', routePath(USER_API.agents, { townId: f.town.id }), { token: f.userToken })).body.agents[0];
    const stranger = await createUserToken();
    f.fake.calls.length = 0;
    expectError(await call('POST', restartPath(f.town.id, mayor.id), { token: stranger, body: {} }), 404, 'not_found');
    expectError(await call('POST', restartPath(f.town.id, 'ag_doesnotexist1'), { token: f.userToken, body: {} }), 404, 'not_found');
    expectError(await call('POST', restartPath(f.town.id, mayor.id), { token: f.userToken, body: { now: true } }), 400, 'validation_failed');
    expectError(await call('POST', restartPath(f.town.id, mayor.id), { body: {} }), 401, 'token_missing');
    expect(f.fake.of('start')).toHaveLength(0);
  });
});
