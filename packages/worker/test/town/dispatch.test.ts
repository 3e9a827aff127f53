import { GastownError, StartAgentRequestSchema, TOOLS } from '@gastown/protocol';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, callTool, expectError } from '../helpers';
import { agentById, complete, dispatchTown, heartbeat, sendToMayor, startedAgent, TEST_API_KEY, townEvents } from '../support/agent-calls';

afterEach(() => {
  vi.useRealTimers();
});

describe('dispatch: starting an agent in the container', () => {
  it('a message to a mayor that does not run starts it: gen + 1, a new credential family, the message as its prompt', async () => {
    const f = await dispatchTown();
    const res = await sendToMayor(f, 'build me a thing');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ delivery: 'started', message: { text: 'build me a thing' }, mayor: { status: 'working', credential: { gen: 1 } } });
    expect(typeof res.body.message.deliveredAt).toBe('number');

    const [start] = f.fake.of('start');
    expect(f.fake.of('start')).toHaveLength(1);
    const req = StartAgentRequestSchema.parse(start!.req);
    expect(req).toMatchObject({
      agent: { id: res.body.mayor.id, townId: f.town.id, rigId: null, role: 'mayor', gen: 1 },
      controlPlaneUrl: 'https://gastown.test',
      credentials: { gen: 1 },
      runtime: { kind: 'opencode', provider: { apiKeyEnvVar: 'LLM_API_KEY' }, model: 'fake-model', smallModel: 'fake-model', idleTimeoutSeconds: null },
      rig: null,
      bead: null,
      prompt: 'build me a thing',
    });
    expect(req.instructions).toContain('mayor');
    expect(req.instructions).toContain('gt_sling');
    // the access token and the refresh credential handed to the container are live
    expect(decodeJwt(req.credentials.accessToken)).toMatchObject({ sub: req.agent.id, gen: 1, role: 'mayor' });
    const mayor = startedAgent(start!.req);
    expect((await callTool(mayor, 'list_rigs')).status).toBe(200);
    expect((await call('POST', `/agent/towns/${f.town.id}/refresh`, { token: req.credentials.refreshCredential })).status).toBe(200);
  });

  it('the town settings reach the container runtime before the first start (env vars by name, sleepAfter), values never in events', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'hi');
    const order = f.fake.calls.map((c) => c.method);
    expect(order.lastIndexOf('configure')).toBeLessThan(order.indexOf('start'));
    expect(f.fake.of('configure').at(-1)!.settings).toEqual({ envVars: { LLM_API_KEY: TEST_API_KEY }, sleepAfterSeconds: 1800 });
    expect(JSON.stringify(await townEvents(f))).not.toContain(TEST_API_KEY);
  });

  it('a config change pushes the settings at once (no start, no other container call)', async () => {
    const f = await dispatchTown();
    const before = f.fake.calls.length;
    expect(
      (await call('PATCH', `/api/towns/${f.town.id}/config`, { token: f.userToken, body: { sleepAfterSeconds: 120, envVars: { OTHER: 'x' } } })).status,
    ).toBe(200);
    expect(f.fake.calls.slice(before)).toEqual([
      { method: 'configure', settings: { envVars: { LLM_API_KEY: TEST_API_KEY, OTHER: 'x' }, sleepAfterSeconds: 120 } },
    ]);
  });

  it('no model provider → 409 conflict "configure a model provider first"; nothing stored, no container call', async () => {
    const f = await dispatchTown({ provider: false });
    const res = await sendToMayor(f, 'hello');
    expectError(res, 409, 'conflict');
    expect(res.body.error.message).toContain('configure a model provider first');
    expect(f.fake.containerCalls()).toEqual([]);
    expect((await call('GET', `/api/towns/${f.town.id}/mayor/messages`, { token: f.userToken })).body.messages).toEqual([]);
  });

  it('a start the container refuses: the agent fails with the real error, its credentials are revoked, the message waits for the next start', async () => {
    const f = await dispatchTown();
    f.fake.behaviour.startError = new GastownError('container_unavailable', 'container: opencode binary missing');
    const res = await sendToMayor(f, 'first');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ delivery: 'failed', message: { deliveredAt: null }, mayor: { status: 'failed' } });
    expect(res.body.mayor.statusLine).toContain('opencode binary missing');
    const failed = (await townEvents(f)).find((e) => e.type === 'agent.start_failed');
    expect(failed?.data).toMatchObject({ code: 'container_unavailable', gen: 1 });
    // the credentials the failed start carried are dead
    const handed = startedAgent(f.fake.of('start')[0]!.req);
    expectError(await callTool(handed, 'list_rigs'), 401, 'token_revoked');

    f.fake.behaviour.startError = null;
    const again = await sendToMayor(f, 'second');
    expect(again.body.delivery).toBe('started');
    const retry = f.fake.of('start')[1]!.req;
    expect(retry.agent.gen).toBe(3);
    expect(retry.prompt).toBe('first\n\n---\n\nsecond');
  });
});

describe('mayor messages: warm and cold path', () => {
  it('warm: a running mayor gets the message with a fresh grant, no new generation, no start', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'hello');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    expect((await heartbeat(mayor, { activity: 'waiting' })).status).toBe(200);
    vi.setSystemTime(Date.now() + 5000);
    const res = await sendToMayor(f, 'and another thing');
    expect(res.body).toMatchObject({ delivery: 'delivered', mayor: { status: 'waiting', credential: { gen: 1 } } });
    expect(f.fake.of('start')).toHaveLength(1);
    const [deliver] = f.fake.of('deliver');
    expect(deliver).toMatchObject({ agentId: mayor.agent.id, req: { text: 'and another thing', grant: { gen: 1 } } });
    expect(deliver!.req.grant).not.toHaveProperty('jti');
    // the grant is a fresh, working token of the same generation, and the row records it
    const grant = deliver!.req.grant!;
    expect(grant.accessToken).not.toBe(mayor.token);
    expect(grant.accessTokenIssuedAt).toBeGreaterThan(mayor.credentials.accessTokenIssuedAt);
    expect((await callTool({ ...mayor, token: grant.accessToken }, 'list_rigs')).status).toBe(200);
    expect((await callTool(mayor, 'list_rigs')).status).toBe(200);
    expect((await agentById(f, mayor.agent.id)).credential.tokenIssuedAt).toBe(grant.accessTokenIssuedAt);
  });

  it('cold: the container says the mayor is not running (slept) → started again with gen + 1 and the message as prompt; the old token is revoked', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'hello');
    const first = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(first, { activity: 'waiting' });
    f.fake.behaviour.deliver = 'not_running';
    const res = await sendToMayor(f, 'are you there?');
    expect(res.body).toMatchObject({ delivery: 'started', mayor: { credential: { gen: 2 } } });
    const second = f.fake.of('start')[1]!.req;
    expect(second).toMatchObject({ agent: { gen: 2 }, credentials: { gen: 2 }, prompt: 'are you there?' });
    expectError(await callTool(first, 'list_rigs'), 401, 'token_revoked');
  });

  it("a message while the mayor's run is ending (container 409) is stored, not a new start: its last report keeps working, then the message starts the next run", async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'hello');
    const first = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(first, { activity: 'waiting' });
    f.fake.behaviour.deliver = 'ending';
    const res = await sendToMayor(f, 'one more thing');
    expect(res.body).toMatchObject({ delivery: 'stored', message: { deliveredAt: null }, mayor: { credential: { gen: 1 } } });
    expect(f.fake.of('start')).toHaveLength(1);
    // the ending run's completion report is taken (not 401), and the stored message starts the next run
    expect((await complete(first, { outcome: 'stopped', reason: 'stopped after its turn' })).status).toBe(200);
    await vi.waitFor(() => expect(f.fake.of('start')).toHaveLength(2), { timeout: 5_000 });
    const second = f.fake.of('start')[1]!.req;
    expect(second.prompt).toBe('one more thing');
    expect(second.agent.gen).toBeGreaterThan(1);
  });

  it('a mayor that exited (container slept: completion "stopped") is started on the next message, not before', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'hello');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'waiting' });
    const done = await call('POST', `/agent/towns/${f.town.id}/agents/${mayor.agent.id}/completion`, {
      token: mayor.token,
      body: { outcome: 'stopped', reason: 'container shutdown' },
    });
    expect(done.status).toBe(200);
    expect((await agentById(f, mayor.agent.id)).status).toBe('exited');
    expect(f.fake.containerCalls().map((c) => c.method)).toEqual(['start']);
    const res = await sendToMayor(f, 'good morning');
    expect(res.body.delivery).toBe('started');
    expect(f.fake.of('deliver')).toEqual([]);
  });

  it('a message while the mayor is starting is stored, then delivered to the new session as soon as the start completes', async () => {
    const f = await dispatchTown();
    let release: () => void = () => {};
    f.fake.behaviour.startGate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = sendToMayor(f, 'first');
    while (f.fake.of('start').length === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await sendToMayor(f, 'second');
    expect(second.body).toMatchObject({ delivery: 'stored', message: { deliveredAt: null } });
    release();
    expect((await first).body.delivery).toBe('started');
    expect(f.fake.of('start')).toHaveLength(1);
    expect(f.fake.of('start')[0]!.req.prompt).toBe('first');
    expect(f.fake.of('deliver').map((d) => d.req.text)).toEqual(['second']);
    const messages = (await call('GET', `/api/towns/${f.town.id}/mayor/messages`, { token: f.userToken })).body.messages as { deliveredAt: number | null }[];
    expect(messages.every((m) => m.deliveredAt !== null)).toBe(true);
  });

  it('a delivery the container fails: "failed", the message stays undelivered and goes out with the next one', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'hello');
    await heartbeat(startedAgent(f.fake.of('start')[0]!.req), { activity: 'waiting' });
    f.fake.behaviour.deliver = new GastownError('container_unavailable', 'host down');
    expect((await sendToMayor(f, 'lost?')).body).toMatchObject({ delivery: 'failed', message: { deliveredAt: null } });
    f.fake.behaviour.deliver = 'delivered';
    expect((await sendToMayor(f, 'again')).body.delivery).toBe('delivered');
    expect(f.fake.of('deliver').at(-1)!.req.text).toBe('lost?\n\n---\n\nagain');
  });
});

describe('mail to a live agent', () => {
  it('is delivered as a prompt with a fresh grant; mail to an agent that does not run is only stored', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'hello');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'waiting' });
    const bead = TOOLS.sling.result.parse((await callTool(mayor, 'sling', { rigId: f.rig.id, title: 'fix the bug' })).body).bead;
    expect(bead.status).toBe('open');

    // a polecat that runs: mail from the mayor reaches it as a prompt
    const { runAlarm } = await import('../support/fake-container');
    await runAlarm(f.town.id);
    const polecat = startedAgent(f.fake.of('start').at(-1)!.req);
    expect(polecat.agent.role).toBe('polecat');
    await heartbeat(polecat, { activity: 'working' });
    const sent = await callTool(mayor, 'mail_send', { to: polecat.agent.id, subject: 'priority', body: 'do the tests first' });
    expect(sent.status).toBe(200);
    const notice = f.fake.of('deliver').at(-1)!;
    expect(notice).toMatchObject({ agentId: polecat.agent.id, req: { grant: { gen: 1 } } });
    expect(notice.req.text).toContain('do the tests first');

    // an agent that does not run: stored only
    const deliveries = f.fake.of('deliver').length;
    await call('POST', `/agent/towns/${f.town.id}/agents/${polecat.agent.id}/completion`, {
      token: polecat.token,
      body: { outcome: 'failed', reason: 'crash' },
    });
    expect((await callTool(mayor, 'mail_send', { to: polecat.agent.id, subject: 'still there?' })).status).toBe(200);
    expect(f.fake.of('deliver')).toHaveLength(deliveries);
  });
});

describe('keep-awake: a working agent keeps its container from sleeping', () => {
  it('a working heartbeat renews the sleep window (at most once a minute); waiting heartbeats never do; a failure never fails the heartbeat', async () => {
    const f = await dispatchTown();
    await sendToMayor(f, 'hello');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    const renewals = () => f.fake.of('keepAwake').length;

    // waiting: an idle town must still sleep on time
    for (let i = 0; i < 3; i += 1) expect((await heartbeat(mayor, { activity: 'waiting' })).status).toBe(200);
    expect(renewals()).toBe(0);

    // working: the first heartbeat renews, the next ones within a minute do not
    expect((await heartbeat(mayor, { activity: 'working' })).status).toBe(200);
    expect(renewals()).toBe(1);
    vi.setSystemTime(Date.now() + 30_000);
    await heartbeat(mayor, { activity: 'working' });
    expect(renewals()).toBe(1);
    vi.setSystemTime(Date.now() + 31_000);
    await heartbeat(mayor, { activity: 'working' });
    expect(renewals()).toBe(2);

    // a container that cannot be reached: the heartbeat still succeeds, the next working one tries again
    f.fake.behaviour.keepAwake = new GastownError('container_unavailable', 'down');
    vi.setSystemTime(Date.now() + 61_000);
    expect((await heartbeat(mayor, { activity: 'working' })).status).toBe(200);
    f.fake.behaviour.keepAwake = null;
    expect((await heartbeat(mayor, { activity: 'working' })).status).toBe(200);
    expect(renewals()).toBe(4);
    // nothing but keep-awake: no container call came from these heartbeats
    expect(f.fake.containerCalls().filter((c) => c.method !== 'start')).toEqual([]);
  });

  it('a short sleepAfter renews more often: every quarter of it', async () => {
    const f = await dispatchTown();
    expect((await call('PATCH', `/api/towns/${f.town.id}/config`, { token: f.userToken, body: { sleepAfterSeconds: 20 } })).status).toBe(200);
    await sendToMayor(f, 'hello');
    const mayor = startedAgent(f.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'working' });
    vi.setSystemTime(Date.now() + 4_000);
    await heartbeat(mayor, { activity: 'working' });
    expect(f.fake.of('keepAwake')).toHaveLength(1);
    vi.setSystemTime(Date.now() + 1_500);
    await heartbeat(mayor, { activity: 'working' });
    expect(f.fake.of('keepAwake')).toHaveLength(2);
  });
});
