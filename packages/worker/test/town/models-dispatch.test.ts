/**
 * Issue 14: which model each agent starts with (the start request's runtime the fake container
 * receives) — the mayor its role's, a polecat its bead's, else its rig's, else its role's, a
 * refinery its rig's, else its role's — and gt_sling's `model` (one the town allows, kept in the
 * bead's metadata).
 */
import { StartAgentRequestSchema, TOOLS, type Bead, type StartAgentRequest } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call, callTool, expectError, uniqueName, type AgentWithCredentials } from '../helpers';
import { complete, dispatchTown, heartbeat, sendToMayor, startedAgent, townEvents, type DispatchFixture } from '../support/agent-calls';
import { runAlarm, withTownSql } from '../support/fake-container';

const TOWN_MODELS = {
  default: 'm-default',
  mayor: 'm-mayor',
  polecat: 'm-polecat',
  refinery: 'm-refinery',
  small: 'm-small',
  allowed: ['m-extra', 'm-other'],
};

async function modelTown(models: Record<string, unknown> = TOWN_MODELS): Promise<DispatchFixture> {
  const f = await dispatchTown();
  const res = await call('PATCH', `/api/towns/${f.town.id}/config`, { token: f.userToken, body: { models } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return f;
}

async function runningMayor(f: DispatchFixture): Promise<AgentWithCredentials> {
  if (!f.fake.of('start').some((s) => s.req.agent.role === 'mayor')) await sendToMayor(f, 'hello');
  const mayor = startedAgent(f.fake.of('start').find((s) => s.req.agent.role === 'mayor')!.req);
  await heartbeat(mayor, { activity: 'waiting' });
  return mayor;
}

async function slingBead(mayor: AgentWithCredentials, rigId: string, model?: string): Promise<Bead> {
  const res = await callTool(mayor, 'sling', { rigId, title: 'work', ...(model !== undefined ? { model } : {}) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return TOOLS.sling.result.parse(res.body).bead;
}

function startOf(f: DispatchFixture, match: (req: StartAgentRequest) => boolean): StartAgentRequest {
  const found = f.fake.of('start').find((s) => match(s.req));
  expect(found, 'a start request').toBeDefined();
  return StartAgentRequestSchema.parse(found!.req);
}

async function addRigWithModels(f: DispatchFixture, models: unknown): Promise<string> {
  const res = await call('POST', `/api/towns/${f.town.id}/rigs`, {
    token: f.userToken,
    body: { name: uniqueName('rig'), gitUrl: 'https://example.com/other.git', models },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.rig.id as string;
}

describe('dispatch: the model of each agent', () => {
  it('the mayor starts with the mayor model and the small model; the provider goes without a model', async () => {
    const f = await modelTown();
    await sendToMayor(f, 'hello');
    const req = startOf(f, (r) => r.agent.role === 'mayor');
    expect(req.runtime).toEqual({
      kind: 'opencode',
      provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnvVar: 'LLM_API_KEY' },
      model: 'm-mayor',
      smallModel: 'm-small',
      idleTimeoutSeconds: null,
    });
  });

  it('roles without their own model run the default (small too)', async () => {
    const f = await modelTown({ default: 'only-one', mayor: null, polecat: null, refinery: null, small: null });
    await sendToMayor(f, 'hello');
    expect(startOf(f, (r) => r.agent.role === 'mayor').runtime).toMatchObject({ model: 'only-one', smallModel: 'only-one' });
  });

  it("a polecat runs its bead's model, else its rig's, else the polecat model", async () => {
    const f = await modelTown();
    const mayor = await runningMayor(f);
    const overridden = await addRigWithModels(f, { polecat: 'm-extra' });
    const plain = await slingBead(mayor, f.rig.id);
    const byRig = await slingBead(mayor, overridden);
    const byBead = await slingBead(mayor, overridden, 'm-other');
    await runAlarm(f.town.id);
    const polecatModel = (beadId: string) => startOf(f, (r) => r.agent.role === 'polecat' && r.bead?.id === beadId).runtime;
    expect(polecatModel(plain.id)).toMatchObject({ model: 'm-polecat', smallModel: 'm-small' });
    expect(polecatModel(byRig.id)).toMatchObject({ model: 'm-extra', smallModel: 'm-small' });
    expect(polecatModel(byBead.id)).toMatchObject({ model: 'm-other', smallModel: 'm-small' });
    expect(polecatModel(byBead.id).provider).not.toHaveProperty('model');
  });

  it("a refinery runs its rig's refinery model, else the refinery model", async () => {
    const f = await modelTown();
    const mayor = await runningMayor(f);
    const overridden = await addRigWithModels(f, { refinery: 'm-extra' });
    for (const rigId of [f.rig.id, overridden]) {
      await slingBead(mayor, rigId);
      await runAlarm(f.town.id);
      const start = startOf(f, (r) => r.agent.role === 'polecat' && r.agent.rigId === rigId);
      const polecat = startedAgent(start);
      await heartbeat(polecat, { activity: 'working' });
      const branch = `gt/${polecat.agent.id}/${start.bead!.id}`;
      expect((await callTool(polecat, 'done', { branch, summary: 'done', commit: '5'.repeat(40) })).status).toBe(200);
      expect((await complete(polecat, { outcome: 'completed', reason: 'idle', branch })).status).toBe(200);
      await runAlarm(f.town.id);
    }
    expect(startOf(f, (r) => r.agent.role === 'refinery' && r.agent.rigId === f.rig.id).runtime).toMatchObject({ model: 'm-refinery', smallModel: 'm-small' });
    expect(startOf(f, (r) => r.agent.role === 'refinery' && r.agent.rigId === overridden).runtime).toMatchObject({ model: 'm-extra', smallModel: 'm-small' });
  });

  it('a town stored before per-role models starts its agents with the old provider.model', async () => {
    const f = await dispatchTown();
    const old = {
      provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnvVar: 'LLM_API_KEY', model: 'legacy-model' },
      runtime: 'opencode',
      sleepAfterSeconds: 1800,
      agentTokenTtlSeconds: 3600,
    };
    await withTownSql(f.town.id, (sql) => {
      sql.exec('UPDATE town SET config = ?', JSON.stringify(old));
    });
    await sendToMayor(f, 'hello');
    const runtime = startOf(f, (r) => r.agent.role === 'mayor').runtime;
    expect(runtime).toMatchObject({ model: 'legacy-model', smallModel: 'legacy-model' });
    expect(runtime.provider).not.toHaveProperty('model');
  });

  it('a provider without models (an old row without provider.model) → 409 conflict naming the models; no container call', async () => {
    const f = await dispatchTown();
    const old = {
      provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnvVar: 'LLM_API_KEY' },
      runtime: 'opencode',
      sleepAfterSeconds: 1800,
      agentTokenTtlSeconds: 3600,
    };
    await withTownSql(f.town.id, (sql) => {
      sql.exec('UPDATE town SET config = ?', JSON.stringify(old));
    });
    const res = await sendToMayor(f, 'hello');
    expectError(res, 409, 'conflict');
    expect(res.body.error.message).toContain('models');
    expect(f.fake.containerCalls()).toEqual([]);
  });
});

describe('gt_sling model', () => {
  it('a model the town allows is kept in the bead metadata and the bead.created event', async () => {
    const f = await modelTown();
    const mayor = await runningMayor(f);
    const bead = await slingBead(mayor, f.rig.id, 'm-extra');
    expect(bead.metadata).toMatchObject({ model: 'm-extra' });
    const listed = (await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads as Bead[];
    expect(listed.find((b) => b.id === bead.id)?.metadata.model).toBe('m-extra');
    const created = (await townEvents(f)).find((e) => e.type === 'bead.created' && e.beadId === bead.id);
    expect(created?.data).toMatchObject({ model: 'm-extra' });
    // without a model: no metadata.model (the rig's or the town's model applies at dispatch)
    expect((await slingBead(mayor, f.rig.id)).metadata).not.toHaveProperty('model');
  });

  it('every role model and the default are allowed too', async () => {
    const f = await modelTown();
    const mayor = await runningMayor(f);
    for (const model of ['m-default', 'm-mayor', 'm-polecat', 'm-refinery', 'm-small'])
      expect((await slingBead(mayor, f.rig.id, model)).metadata.model).toBe(model);
  });

  it('a model the town does not allow → 403 model_not_allowed naming it and the allowed ones; no bead', async () => {
    const f = await modelTown();
    const mayor = await runningMayor(f);
    const res = await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'work', model: 'gpt-99' });
    expectError(res, 403, 'model_not_allowed');
    expect(res.body.error.message).toContain('gpt-99');
    expect(res.body.error.message).toContain('m-extra');
    expect((await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken })).body.beads).toEqual([]);
  });

  it("any rig's override is allowed, even after the town drops it from allowed", async () => {
    const f = await modelTown();
    const mayor = await runningMayor(f);
    await addRigWithModels(f, { refinery: 'm-other' });
    expect((await call('PATCH', `/api/towns/${f.town.id}/config`, { token: f.userToken, body: { models: { allowed: [] } } })).status).toBe(200);
    // the first rig slings with the second rig's override
    expect((await slingBead(mayor, f.rig.id, 'm-other')).metadata.model).toBe('m-other');
    expectError(await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'work', model: 'm-extra' }), 403, 'model_not_allowed');
  });

  it('a bad model id → 400 validation_failed; an unknown rig with a model → 404', async () => {
    const f = await modelTown();
    const mayor = await runningMayor(f);
    expectError(await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'work', model: 'not a model' }), 400, 'validation_failed');
    expectError(await callTool(mayor, 'sling', { rigId: 'rig_doesnotexist00', title: 'work', model: 'm-extra' }), 404, 'not_found');
  });
});
