import { GitTokenResponseSchema, StartAgentRequestSchema, TOOLS, type TownEvent } from '@gastown/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addRig, call, callTool, expectError, issue, spawnAgent, type AgentWithCredentials } from '../helpers';
import { heartbeat, sendToMayor, startedAgent, townEvents } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';
import { privateRig, privateTown, REPO } from '../support/private-rig';

afterEach(() => {
  vi.useRealTimers();
});

function gitToken(who: AgentWithCredentials, rigId: string) {
  return call('POST', `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/git-token`, { token: who.token, body: { rigId } });
}

describe('git tokens for the container: at dispatch and on request', () => {
  it("a polecat of a private rig starts with the rig's git token (auth kind on the rig ref); the mayor gets none; events never hold the token", async () => {
    const t = await privateTown();
    const rig = await privateRig(t, { auth: 'github_app' });
    await sendToMayor(t, 'work please');
    const mayorStart = StartAgentRequestSchema.parse(t.fake.of('start')[0]!.req);
    expect(mayorStart.gitToken).toBeNull();
    const mayor = startedAgent(t.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'waiting' });
    const bead = TOOLS.sling.result.parse((await callTool(mayor, 'sling', { rigId: rig.id, title: 'x', body: 'y' })).body).bead;
    await runAlarm(t.town.id);
    const start = StartAgentRequestSchema.parse(t.fake.of('start').at(-1)!.req);
    expect(start).toMatchObject({ agent: { role: 'polecat', rigId: rig.id }, bead: { id: bead.id }, rig: { id: rig.id, auth: 'github_app' } });
    expect(start.gitToken).toMatchObject({ rigId: rig.id, username: 'x-access-token', token: expect.stringMatching(/^ghs_/) });
    // a live installation token narrowed to the rig's repository
    expect([...t.host.tokens.get(start.gitToken!.token)!.repos]).toEqual([REPO]);
    // never in the agent-visible text of the start
    expect(start.instructions + start.prompt).not.toContain(start.gitToken!.token);
    const events = await townEvents(t);
    expect(events.filter((e) => e.type === 'git.token_issued')).toEqual([
      expect.objectContaining({ agentId: start.agent.id, data: { rigId: rig.id, expiresAt: start.gitToken!.expiresAt, source: 'dispatch' } }),
    ]);
    expect(JSON.stringify(events)).not.toContain(start.gitToken!.token);
  });

  it('a token rig hands out its token (no expiry); a public rig gives no git token at start', async () => {
    const t = await privateTown();
    const rig = await privateRig(t, { auth: 'token', mergeStrategy: 'direct' });
    const pub = await addRig(t.userToken, t.town.id);
    const polecat = await spawnAgent(t.town.id, { role: 'polecat', rigId: rig.id });
    const res = await gitToken(polecat, rig.id);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(GitTokenResponseSchema.parse(res.body).grant).toEqual({
      rigId: rig.id,
      token: expect.stringMatching(/^github_pat_/),
      username: 'x-access-token',
      expiresAt: null,
    });
    const other = await spawnAgent(t.town.id, { role: 'polecat', rigId: pub.id });
    expectError(await gitToken(other, pub.id), 409, 'conflict');
  });

  it('POST git-token: polecat and refinery of the rig only; the mayor 403, another rig 403, a revoked generation 401; fresh mint past a quarter of its life', async () => {
    const t = await privateTown();
    t.host.tokenLifetimeMs = 600_000;
    const rig = await privateRig(t, { auth: 'github_app' });
    const other = await privateRig(t, { auth: 'github_app' });
    const polecat = await spawnAgent(t.town.id, { role: 'polecat', rigId: rig.id });
    const refinery = await spawnAgent(t.town.id, { role: 'refinery', rigId: rig.id });
    const first = await gitToken(polecat, rig.id);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const grant = GitTokenResponseSchema.parse(first.body).grant;
    expect(grant.expiresAt! - Date.now()).toBeGreaterThan(500_000);
    const second = await gitToken(refinery, rig.id);
    expect(second.body.grant.token).toBe(grant.token); // reused: less than a quarter of its life

    const mayorList = (await call('GET', `/api/towns/${t.town.id}/agents`, { token: t.userToken })).body.agents;
    const mayor = await issue(t.town.id, mayorList.find((a: { role: string }) => a.role === 'mayor').id);
    expectError(await gitToken(mayor, rig.id), 403, 'role_forbidden');
    expectError(await gitToken(polecat, other.id), 403, 'token_scope');
    const stale = { ...polecat };
    await issue(t.town.id, polecat.agent.id); // gen + 1: the old token is revoked
    expectError(await gitToken(stale, rig.id), 401, 'token_revoked');
    expectError(
      await call('POST', `/agent/towns/${t.town.id}/agents/${refinery.agent.id}/git-token`, { token: refinery.token, body: {} }),
      400,
      'validation_failed',
    );

    vi.setSystemTime(Date.now() + 301_000); // past a quarter of its life
    const later = await gitToken(refinery, rig.id);
    expect(later.status).toBe(200);
    expect(later.body.grant.token).not.toBe(grant.token);
    const issued = (await townEvents(t)).filter((e: TownEvent) => e.type === 'git.token_issued');
    expect(issued.map((e) => e.data.source)).toEqual(['request', 'request', 'request']);
    expect(JSON.stringify(issued)).not.toMatch(/ghs_/);
  });

  it('a git host that refuses the token at dispatch fails the start with git_auth_failed (an attempt spent, the bead back to open)', async () => {
    const t = await privateTown();
    t.host.tokenLifetimeMs = 60_000;
    const rig = await privateRig(t, { auth: 'github_app' });
    t.host.installations.clear(); // the app was uninstalled
    vi.setSystemTime(Date.now() + 31_000); // the grant of the access check is past a quarter of its life
    await sendToMayor(t, 'go');
    const mayor = startedAgent(t.fake.of('start')[0]!.req);
    await heartbeat(mayor, { activity: 'waiting' });
    const bead = TOOLS.sling.result.parse((await callTool(mayor, 'sling', { rigId: rig.id, title: 'x', body: 'y' })).body).bead;
    const startsBefore = t.fake.of('start').length;
    await runAlarm(t.town.id);
    expect(t.fake.of('start')).toHaveLength(startsBefore); // the container was never asked
    const events = await townEvents(t);
    const failed = events.find((e) => e.type === 'agent.start_failed');
    expect(failed?.data).toMatchObject({ code: 'git_auth_failed', gen: null });
    expect(String(failed?.data.message)).toContain(`the app is not installed on ${REPO}`);
    const after = (await call('GET', `/api/towns/${t.town.id}/beads`, { token: t.userToken })).body.beads.find((b: { id: string }) => b.id === bead.id);
    expect(after).toMatchObject({ status: 'open', attempts: 1, assigneeId: null });
  });
});
