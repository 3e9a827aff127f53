import { AgentSchema, BeadSchema, MailSchema, TownEventSchema, TownSchema } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { addRig, call, callTool, createTown, createUserToken, expectError, setupTown, snapshotTown, uniqueName, TEST_PROVIDER } from '../helpers';

describe('user API: towns, config, rigs', () => {
  it('creates, lists and gets towns; a new town has a mayor and default config', async () => {
    const token = await createUserToken();
    const name = uniqueName('alpha');
    const created = await call('POST', '/api/towns', { token, body: { name } });
    expect(created.status).toBe(201);
    const town = TownSchema.parse(created.body.town);
    expect(town.name).toBe(name);
    expect(town.config).toEqual({
      provider: null,
      runtime: 'opencode',
      envVarNames: [],
      sleepAfterSeconds: 1800,
      agentTokenTtlSeconds: 3600,
      models: null,
      prices: {},
      spendCap: null,
      maxPolecats: null,
      instructions: { mayor: null, polecat: null, refinery: null },
    });

    const list = await call('GET', '/api/towns', { token });
    expect(list.status).toBe(200);
    expect(list.body.towns.map((t: { id: string }) => t.id)).toEqual([town.id]);

    const got = await call('GET', `/api/towns/${town.id}`, { token });
    expect(got.status).toBe(200);
    expect(got.body.town).toEqual(town);

    const agents = await call('GET', `/api/towns/${town.id}/agents`, { token });
    expect(agents.body.agents).toHaveLength(1);
    const mayor = AgentSchema.parse(agents.body.agents[0]);
    expect(mayor).toMatchObject({ role: 'mayor', rigId: null, status: 'idle', credential: { state: 'none', gen: 0 } });
  });

  it('refuses a second town with the same name for the same user (409), allows it for another user', async () => {
    const a = await createUserToken();
    const b = await createUserToken();
    const name = uniqueName('dup');
    await createTown(a, name);
    expectError(await call('POST', '/api/towns', { token: a, body: { name } }), 409, 'conflict');
    await createTown(b, name);
  });

  it('patches config: env var values are write-only, only names come back', async () => {
    const token = await createUserToken();
    const town = await createTown(token);
    const res = await call('PATCH', `/api/towns/${town.id}/config`, {
      token,
      body: {
        provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9999/v1', model: 'fake', apiKeyEnvVar: 'LLM_KEY' },
        runtime: 'kilo',
        envVars: { LLM_KEY: 'sk-very-secret-value', OTHER: 'x' },
        sleepAfterSeconds: 600,
        agentTokenTtlSeconds: 120,
      },
    });
    expect(res.status).toBe(200);
    // the legacy provider.model is stored as models.default (issue 14)
    expect(res.body.town.config).toEqual({
      provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9999/v1', apiKeyEnvVar: 'LLM_KEY' },
      runtime: 'kilo',
      envVarNames: ['LLM_KEY', 'OTHER'],
      sleepAfterSeconds: 600,
      agentTokenTtlSeconds: 120,
      models: { default: 'fake', mayor: null, polecat: null, refinery: null, small: null, allowed: [] },
      prices: {},
      spendCap: null,
      maxPolecats: null,
      instructions: { mayor: null, polecat: null, refinery: null },
    });
    expect(JSON.stringify(res.body)).not.toContain('sk-very-secret-value');

    const del = await call('PATCH', `/api/towns/${town.id}/config`, { token, body: { envVars: { OTHER: null }, provider: null } });
    expect(del.body.town.config).toMatchObject({ envVarNames: ['LLM_KEY'], provider: null, runtime: 'kilo' });

    const events = await call('GET', `/api/towns/${town.id}/events`, { token });
    expect(JSON.stringify(events.body)).not.toContain('sk-very-secret-value');
    expect(events.body.events.map((e: { type: string }) => e.type)).toContain('town.config_updated');
  });

  it('adds and lists rigs; a duplicate rig name is a conflict', async () => {
    const token = await createUserToken();
    const town = await createTown(token);
    const rig = await addRig(token, town.id, 'web');
    expect(rig).toMatchObject({ townId: town.id, name: 'web', defaultBranch: 'main', gitUrl: 'https://example.com/repo.git' });
    const list = await call('GET', `/api/towns/${town.id}/rigs`, { token });
    expect(list.body.rigs).toEqual([rig]);
    expectError(await call('POST', `/api/towns/${town.id}/rigs`, { token, body: { name: 'web', gitUrl: 'git@github.com:a/b.git' } }), 409, 'conflict');
  });
});

describe('user API: beads, mail, events, mayor', () => {
  it('lists beads by status, mail and events after an id', async () => {
    const f = await setupTown();
    const all = await call('GET', `/api/towns/${f.town.id}/beads`, { token: f.userToken });
    expect(all.status).toBe(200);
    expect(all.body.beads.map((b: unknown) => BeadSchema.parse(b).id)).toEqual([f.bead.id]);
    expect((await call('GET', `/api/towns/${f.town.id}/beads?status=in_progress`, { token: f.userToken })).body.beads).toHaveLength(1);
    expect((await call('GET', `/api/towns/${f.town.id}/beads?status=closed`, { token: f.userToken })).body.beads).toHaveLength(0);

    await callTool(f.polecat, 'mail_send', { to: 'mayor', subject: 'hello', body: 'hi' });
    const mail = await call('GET', `/api/towns/${f.town.id}/mail`, { token: f.userToken });
    expect(mail.body.mail).toHaveLength(1);
    expect(MailSchema.parse(mail.body.mail[0])).toMatchObject({ fromAgentId: f.polecat.agent.id, toAgentId: f.mayor.agent.id, subject: 'hello' });

    const events = await call('GET', `/api/towns/${f.town.id}/events`, { token: f.userToken });
    const parsed = events.body.events.map((e: unknown) => TownEventSchema.parse(e));
    expect(parsed.length).toBeGreaterThan(3);
    const after = parsed[1].id;
    const page = await call('GET', `/api/towns/${f.town.id}/events?after=${after}&limit=2`, { token: f.userToken });
    expect(page.body.events.map((e: { id: number }) => e.id)).toEqual(parsed.slice(2, 4).map((e: { id: number }) => e.id));
  });

  it('a message to the mayor without a model provider → 409 conflict, nothing stored', async () => {
    const token = await createUserToken();
    const town = await createTown(token);
    expectError(await call('POST', `/api/towns/${town.id}/mayor/messages`, { token, body: { text: 'hello' } }), 409, 'conflict');
    expect((await call('GET', `/api/towns/${town.id}/mayor/messages`, { token })).body.messages).toEqual([]);
  });

  it('stores a message to the mayor (delivery "failed" without a container runtime: the real error on the mayor) and lists it', async () => {
    const token = await createUserToken();
    const town = await createTown(token);
    expect((await call('PATCH', `/api/towns/${town.id}/config`, { token, body: { provider: TEST_PROVIDER } })).status).toBe(200);
    const res = await call('POST', `/api/towns/${town.id}/mayor/messages`, { token, body: { text: 'build me a thing' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      delivery: 'failed',
      message: { text: 'build me a thing', deliveredAt: null },
      mayor: { role: 'mayor', status: 'failed' },
    });
    expect(res.body.mayor.statusLine).toContain('no container runtime is configured');
    const list = await call('GET', `/api/towns/${town.id}/mayor/messages`, { token });
    expect(list.body.messages.map((m: { text: string }) => m.text)).toEqual(['build me a thing']);
    const agents = await call('GET', `/api/towns/${town.id}/agents`, { token });
    expect(agents.body.agents.filter((a: { role: string }) => a.role === 'mayor')).toHaveLength(1);
  });
});

describe('user API: agents', () => {
  it('lists agents with credential health', async () => {
    const f = await setupTown();
    const res = await call('GET', `/api/towns/${f.town.id}/agents`, { token: f.userToken });
    const agents = res.body.agents.map((a: unknown) => AgentSchema.parse(a));
    const polecat = agents.find((a: { id: string }) => a.id === f.polecat.agent.id);
    expect(polecat).toMatchObject({ role: 'polecat', status: 'starting', beadId: f.bead.id, credential: { state: 'healthy', gen: 1, refreshCount: 0 } });
    expect(polecat.credential.tokenExpiresAt).toBe(f.polecat.credentials.accessTokenExpiresAt);
  });

  it('stops an agent: gen + 1, status stopped, credentials revoked, bead released, event recorded', async () => {
    const f = await setupTown();
    const res = await call('POST', `/api/towns/${f.town.id}/agents/${f.polecat.agent.id}/stop`, { token: f.userToken });
    expect(res.status).toBe(200);
    expect(res.body.agent).toMatchObject({ status: 'stopped', credential: { state: 'revoked', gen: 2 } });
    expectError(await callTool(f.polecat, 'status', { text: 'still here' }), 401, 'token_revoked');
    const beads = await call('GET', `/api/towns/${f.town.id}/beads?status=open`, { token: f.userToken });
    expect(beads.body.beads.map((b: { id: string }) => b.id)).toEqual([f.bead.id]);
    const events = await call('GET', `/api/towns/${f.town.id}/events`, { token: f.userToken });
    expect(events.body.events.map((e: { type: string }) => e.type)).toContain('agent.stopped');
    // idempotent
    const again = await call('POST', `/api/towns/${f.town.id}/agents/${f.polecat.agent.id}/stop`, { token: f.userToken });
    expect(again.body.agent.credential.gen).toBe(2);
  });

  it('reissues credentials: minted_not_running when no container runs the agent; the old refresh family is revoked', async () => {
    const f = await setupTown();
    const res = await call('POST', `/api/towns/${f.town.id}/agents/${f.polecat.agent.id}/credentials/reissue`, { token: f.userToken });
    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('minted_not_running');
    expect(res.body.agent.credential.gen).toBe(2);
    expect(typeof res.body.tokenExpiresAt).toBe('number');
    expect(JSON.stringify(res.body)).not.toMatch(/gtr_|eyJ/);
    const refresh = await call('POST', `/agent/towns/${f.town.id}/refresh`, { token: f.polecat.credentials.refreshCredential });
    expectError(refresh, 401, 'token_revoked');
  });

  it('refuses to reissue for a stopped or never-dispatched agent (409)', async () => {
    const f = await setupTown();
    await call('POST', `/api/towns/${f.town.id}/agents/${f.polecat.agent.id}/stop`, { token: f.userToken });
    expectError(await call('POST', `/api/towns/${f.town.id}/agents/${f.polecat.agent.id}/credentials/reissue`, { token: f.userToken }), 409, 'conflict');
    const token = await createUserToken();
    const town = await createTown(token);
    const agents = await call('GET', `/api/towns/${town.id}/agents`, { token });
    expectError(await call('POST', `/api/towns/${town.id}/agents/${agents.body.agents[0].id}/credentials/reissue`, { token }), 409, 'conflict');
  });

  it('unknown agent → 404', async () => {
    const f = await setupTown();
    expectError(await call('POST', `/api/towns/${f.town.id}/agents/ag_doesnotexist/stop`, { token: f.userToken }), 404, 'not_found');
  });
});

describe('user API: isolation and authentication', () => {
  it("a user never sees another user's town: 404 on every town route, no state change", async () => {
    const f = await setupTown();
    const intruder = await createUserToken();
    const before = await snapshotTown(f.town.id);
    const t = f.town.id;
    const a = f.polecat.agent.id;
    const cases: [string, string, unknown?][] = [
      ['GET', `/api/towns/${t}`],
      ['PATCH', `/api/towns/${t}/config`, { runtime: 'kilo' }],
      ['GET', `/api/towns/${t}/rigs`],
      ['POST', `/api/towns/${t}/rigs`, { name: 'evil', gitUrl: 'https://example.com/x.git' }],
      ['GET', `/api/towns/${t}/agents`],
      ['POST', `/api/towns/${t}/agents/${a}/stop`],
      ['POST', `/api/towns/${t}/agents/${a}/credentials/reissue`],
      ['GET', `/api/towns/${t}/beads`],
      ['GET', `/api/towns/${t}/mail`],
      ['GET', `/api/towns/${t}/events`],
      ['GET', `/api/towns/${t}/events/stream`],
      ['POST', `/api/towns/${t}/mayor/messages`, { text: 'hi' }],
      ['GET', `/api/towns/${t}/mayor/messages`],
    ];
    for (const [method, path, body] of cases) {
      const res = await call(method, path, { token: intruder, body });
      expect({ path, method, status: res.status, code: res.body?.error?.code }).toEqual({ path, method, status: 404, code: 'not_found' });
    }
    expect((await call('GET', '/api/towns', { token: intruder })).body.towns).toEqual([]);
    expect(await snapshotTown(f.town.id)).toEqual(before);
  });

  it('a town id that was never created → 404', async () => {
    const token = await createUserToken();
    expectError(await call('GET', '/api/towns/town_neverexisted', { token }), 404, 'not_found');
  });

  const authCases = [
    { name: 'no token', token: null, code: 'token_missing' },
    { name: 'garbage', token: 'not-a-jwt', code: 'token_malformed' },
  ];
  it.each(authCases)('user routes need a user token: $name → $code', async ({ token, code }) => {
    expectError(await call('GET', '/api/towns', { token }), 401, code);
    expectError(await call('POST', '/api/towns', { token, body: { name: 'x' } }), 401, code);
  });

  it('an agent token is not a user token', async () => {
    const f = await setupTown();
    expectError(await call('GET', '/api/towns', { token: f.mayor.token }), 401, 'token_malformed');
  });
});

describe('admin endpoint', () => {
  it('mints a user token with the admin secret', async () => {
    const { adminSecret } = await import('../helpers');
    const res = await call('POST', '/api/admin/user-tokens', { token: adminSecret(), body: { userId: 'alice@example.com', ttlSeconds: 3600 } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ userId: 'alice@example.com' });
    expect((await call('GET', '/api/towns', { token: res.body.token })).status).toBe(200);
  });

  const bad: { name: string; headers: Record<string, string>; userToken?: boolean }[] = [
    { name: 'no header', headers: {} },
    { name: 'wrong secret', headers: { authorization: 'Bearer wrong-secret-wrong-secret-wrong-secret' } },
    { name: 'not bearer', headers: { authorization: 'Basic abc' } },
    { name: 'a user token', headers: {}, userToken: true },
  ];
  it.each(bad)('rejects: $name → 401 admin_unauthorized', async ({ headers, userToken }) => {
    const h = { ...headers };
    if (userToken) h.authorization = `Bearer ${await createUserToken()}`;
    expectError(await call('POST', '/api/admin/user-tokens', { headers: h, body: { userId: 'mallory' } }), 401, 'admin_unauthorized');
  });
});
