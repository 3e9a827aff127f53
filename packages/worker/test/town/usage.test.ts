/**
 * Model usage: `model.usage` agent events become priced rows (once per event id), the user reads
 * their sums with `GET /api/towns/:townId/usage`, and a provider that refuses the key is escalated
 * once per outage.
 */
import type { Bead, UsageRow } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call, createUserToken, expectError } from '../helpers';
import { TEST_API_KEY, postEvents, townEvents } from '../support/agent-calls';
import { withTownSql } from '../support/fake-container';
import { patchConfig, reportUsage, usageEvent, usageOf, workingTown } from '../support/usage-calls';

const DAY_MS = 86_400_000;
const utcDay = (at: number) => new Date(at).toISOString().slice(0, 10);

describe('usage ingestion', () => {
  it('stores one row per new model.usage event, with the agent record of the time; a retried batch counts once', async () => {
    const { f, polecat, bead } = await workingTown();
    const events = [usageEvent(), usageEvent({ model: 'claude-sonnet-4-5', status: 429, errorCode: 'rate_limit_exceeded', inputTokens: 0, outputTokens: 0 })];
    const first = await reportUsage(polecat, events);
    expect(first.body).toEqual({ accepted: 2, duplicates: 0 });
    const again = await reportUsage(polecat, events);
    expect(again.body).toEqual({ accepted: 0, duplicates: 2 });

    const usage = await usageOf(f, '?by=model');
    expect(usage.totals).toMatchObject({ calls: 2, errors: 1, inputTokens: 1000, outputTokens: 500, costMicros: 450, unpricedCalls: 0 });
    const row = await withTownSql(f.town.id, (sql) => sql.exec(`SELECT * FROM model_usage WHERE id = ?`, events[0]!.id).toArray()[0]);
    expect(row).toMatchObject({
      at: events[0]!.at,
      agent_id: polecat.agent.id,
      role: 'polecat',
      rig_id: f.rig.id,
      bead_id: bead.id,
      model: 'gpt-4o-mini',
      provider_kind: 'openai-compatible',
      input_tokens: 1000,
      output_tokens: 500,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      latency_ms: 120,
      streamed: 1,
      status: 200,
      error_code: null,
      cost_micros: 450,
    });
    expect(row!.received_at).toEqual(expect.any(Number));
  });

  it('prices with the default list, the town’s overrides, and leaves unknown models unpriced', async () => {
    const { f, polecat } = await workingTown();
    // gpt-4o-mini: 1000 × 0.15 + 500 × 0.6; claude-sonnet-4-5 (claude-sonnet-4 prices): 1000 × 3 + 500 × 15 + 2000 × 0.3 + 400 × 3.75
    await reportUsage(polecat, [
      usageEvent(),
      usageEvent({ model: 'anthropic/claude-sonnet-4.5', providerKind: 'anthropic', cacheReadTokens: 2000, cacheWriteTokens: 400 }),
    ]);
    await reportUsage(polecat, [usageEvent({ model: 'fake-model' })]);
    let byModel = await usageOf(f, '?by=model');
    expect(byModel.rows.map((r) => [r.key, r.costMicros, r.unpricedCalls])).toEqual([
      ['anthropic/claude-sonnet-4.5', 12_600, 0],
      ['gpt-4o-mini', 450, 0],
      ['fake-model', 0, 1],
    ]);
    expect(byModel.totals).toMatchObject({ calls: 3, costMicros: 13_050, costUsd: 0.01305, unpricedCalls: 1 });

    // an override applies to calls from then on (a stored row keeps its price)
    await patchConfig(f, { prices: { 'gpt-4o-mini': { inputPerMTok: 1, outputPerMTok: 2 }, 'fake-model': { inputPerMTok: 10, outputPerMTok: 10 } } });
    await reportUsage(polecat, [usageEvent(), usageEvent({ model: 'fake-model' })]);
    byModel = await usageOf(f, '?by=model');
    const cost = (key: string) => byModel.rows.find((r) => r.key === key)?.costMicros;
    expect(cost('gpt-4o-mini')).toBe(450 + 2000);
    expect(cost('fake-model')).toBe(15_000);
    expect(byModel.totals.unpricedCalls).toBe(1);
  });

  it('takes usage-only batches from a revoked generation (a lost or stopped run spent that money), nothing else', async () => {
    const { f, polecat } = await workingTown();
    const stop = await call('POST', `/api/towns/${f.town.id}/agents/${polecat.agent.id}/stop`, { token: f.userToken, body: {} });
    expect(stop.status, JSON.stringify(stop.body)).toBe(200);

    const mixed = await postEvents(polecat, [usageEvent(), { id: 'evt_late_text_1', type: 'agent.text', at: Date.now(), data: { text: 'late' } }]);
    expectError(mixed, 401, 'token_revoked');
    const heartbeatAfter = await postEvents(polecat, [{ id: 'evt_late_idle_1', type: 'session.idle', at: Date.now(), data: {} }]);
    expectError(heartbeatAfter, 401, 'token_revoked');

    const late = [usageEvent(), usageEvent({ inputTokens: 10, outputTokens: 5 })];
    expect((await reportUsage(polecat, late)).body).toEqual({ accepted: 2, duplicates: 0 });
    expect((await reportUsage(polecat, late)).body).toEqual({ accepted: 0, duplicates: 2 });
    const byAgent = await usageOf(f, '?by=agent');
    expect(byAgent.rows.find((r) => r.key === polecat.agent.id)).toMatchObject({ calls: 2, inputTokens: 1010, outputTokens: 505 });
  });

  it('keeps an event whose data is not a usage record, without a row: a usage.invalid town event', async () => {
    const { f, polecat } = await workingTown();
    const bad = { ...usageEvent(), data: { model: 'gpt-4o-mini', inputTokens: -987654 } };
    expect((await reportUsage(polecat, [bad])).body).toEqual({ accepted: 1, duplicates: 0 });
    expect((await usageOf(f)).totals.calls).toBe(0);
    const invalid = (await townEvents(f)).find((e) => e.type === 'usage.invalid');
    expect(invalid).toMatchObject({ agentId: polecat.agent.id, data: { eventId: bad.id } });
    expect(invalid!.data.issues).toContain('inputTokens: too_small');
    expect(JSON.stringify(invalid!.data)).not.toContain('987654');
  });
});

describe('a provider that refuses the key', () => {
  it('is escalated once per outage, naming the env var of the key (never its value)', async () => {
    const { f, polecat } = await workingTown();
    const refused = () => usageEvent({ status: 401, errorCode: 'invalid_api_key', inputTokens: 0, outputTokens: 0 });
    await reportUsage(polecat, [refused(), refused()]);
    await reportUsage(polecat, [refused()]);
    const beads = (await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as Bead[];
    const escalations = beads.filter((b) => b.type === 'escalation' && b.title.startsWith('Model provider refused the key'));
    expect(escalations.map((b) => b.title)).toEqual(['Model provider refused the key (openai-compatible: invalid_api_key)']);
    expect(escalations[0]!.body).toContain('LLM_API_KEY');
    expect(escalations[0]!.body).not.toContain(TEST_API_KEY);
    expect((await usageOf(f)).totals).toMatchObject({ calls: 3, errors: 3 });

    // once closed, the next outage is escalated again
    await withTownSql(f.town.id, (sql) => sql.exec(`UPDATE beads SET status = 'closed' WHERE id = ?`, escalations[0]!.id));
    await reportUsage(polecat, [refused()]);
    const after = ((await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as Bead[]).filter(
      (b) => b.type === 'escalation' && b.title.startsWith('Model provider refused the key'),
    );
    expect(after).toHaveLength(2);
  });
});

describe('GET /api/towns/:townId/usage', () => {
  it('sums by bead, role, model, day, rig and agent (SQL GROUP BY), with labels, sorted by cost; day ascending; from/to bound by call time', async () => {
    const { f, mayor, polecat, bead } = await workingTown();
    const now = Date.now();
    const yesterday = now - DAY_MS;
    await reportUsage(mayor, [usageEvent({}, { at: yesterday })]); // 450
    await reportUsage(polecat, [
      usageEvent({ model: 'claude-sonnet-4-5', providerKind: 'anthropic', cacheReadTokens: 2000, cacheWriteTokens: 400 }, { at: now }), // 12 600
      usageEvent({ status: 500, errorCode: 'server_error', inputTokens: 0, outputTokens: 0 }, { at: now }), // 0, an error
    ]);
    const keys = (rows: UsageRow[]) => rows.map((r) => [r.key, r.label, r.calls, r.costMicros]);
    const mayorName = (await call('GET', `/api/towns/${f.town.id}/agents`, { token: f.userToken })).body.agents.find(
      (a: { id: string }) => a.id === mayor.agent.id,
    ).name;

    const byBead = await usageOf(f, '?by=bead');
    expect(byBead.totals).toEqual({
      calls: 3,
      errors: 1,
      inputTokens: 2000,
      outputTokens: 1000,
      cacheReadTokens: 2000,
      cacheWriteTokens: 400,
      costMicros: 13_050,
      costUsd: 0.01305,
      unpricedCalls: 0,
    });
    expect(byBead).toMatchObject({ by: 'bead', from: null, to: null, spend: null });
    expect(keys(byBead.rows)).toEqual([
      [bead.id, bead.title, 2, 12_600],
      ['none', null, 1, 450],
    ]);
    expect(byBead.rows[0]).toMatchObject({ errors: 1, inputTokens: 1000, outputTokens: 500, cacheReadTokens: 2000, cacheWriteTokens: 400, costUsd: 0.0126 });
    expect(keys((await usageOf(f, '?by=role')).rows)).toEqual([
      ['polecat', null, 2, 12_600],
      ['mayor', null, 1, 450],
    ]);
    expect(keys((await usageOf(f, '?by=model')).rows)).toEqual([
      ['claude-sonnet-4-5', null, 1, 12_600],
      ['gpt-4o-mini', null, 2, 450],
    ]);
    expect(keys((await usageOf(f, '?by=rig')).rows)).toEqual([
      [f.rig.id, f.rig.name, 2, 12_600],
      ['none', null, 1, 450],
    ]);
    expect(keys((await usageOf(f, '?by=agent')).rows)).toEqual([
      [polecat.agent.id, polecat.agent.name, 2, 12_600],
      [mayor.agent.id, mayorName, 1, 450],
    ]);
    expect(keys((await usageOf(f, '?by=day')).rows)).toEqual([
      [utcDay(yesterday), null, 1, 450],
      [utcDay(now), null, 2, 12_600],
    ]);
    expect(keys((await usageOf(f)).rows)).toEqual(keys((await usageOf(f, '?by=day')).rows));

    const today = await usageOf(f, `?by=role&from=${now}&to=${now + 1}`);
    expect(today).toMatchObject({ from: now, to: now + 1, totals: { calls: 2, costMicros: 12_600 } });
    expect(keys(today.rows)).toEqual([['polecat', null, 2, 12_600]]);
    expect((await usageOf(f, `?to=${now}`)).totals).toMatchObject({ calls: 1, costMicros: 450 });
  });

  it('answers the spend cap’s standing when a cap is set', async () => {
    const { f, polecat } = await workingTown();
    await patchConfig(f, { spendCap: { period: 'month', limitUsd: 1 } });
    await reportUsage(polecat, [usageEvent()]);
    const usage = await usageOf(f);
    const d = new Date();
    expect(usage.spend).toEqual({
      cap: { period: 'month', limitUsd: 1 },
      periodStart: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
      spentMicros: 450,
      spentUsd: 0.00045,
      state: 'ok',
    });
  });

  it('refuses a bad query (400 validation_failed) and other users (404)', async () => {
    const { f } = await workingTown();
    for (const query of ['?by=week', '?from=yesterday', '?to=-5', '?limit=10', '?from=10&to=5']) {
      expectError(await call('GET', `/api/towns/${f.town.id}/usage${query}`, { token: f.userToken }), 400, 'validation_failed');
    }
    expectError(await call('GET', `/api/towns/${f.town.id}/usage`, { token: await createUserToken() }), 404, 'not_found');
    expectError(await call('GET', `/api/towns/${f.town.id}/usage`), 401, 'token_missing');
  });

  it('an agent token is not a user token (401)', async () => {
    const { f, polecat } = await workingTown();
    expect((await call('GET', `/api/towns/${f.town.id}/usage`, { token: polecat.token })).status).toBe(401);
  });
});
