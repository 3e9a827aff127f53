import { AgentCredentialsSchema, REFRESH_GRACE_SECONDS } from '@gastown/protocol';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, callTool, expectError, setupTown, type TownFixture } from '../helpers';

function refresh(townId: string, credential: string) {
  return call('POST', `/agent/towns/${townId}/refresh`, { token: credential });
}

async function agentView(f: TownFixture, agentId: string) {
  const res = await call('GET', `/api/towns/${f.town.id}/agents`, { token: f.userToken });
  return res.body.agents.find((a: { id: string }) => a.id === agentId);
}

async function events(f: TownFixture) {
  return (await call('GET', `/api/towns/${f.town.id}/events?limit=500`, { token: f.userToken })).body.events as {
    type: string;
    agentId: string | null;
    data: unknown;
  }[];
}

afterEach(() => {
  vi.useRealTimers();
});

describe('POST /agent/towns/:townId/refresh (end to end)', () => {
  it('rotates: new access token and refresh credential, agent row updated, credential.refreshed recorded without secrets', async () => {
    const f = await setupTown();
    const res = await refresh(f.town.id, f.polecat.credentials.refreshCredential);
    expect(res.status).toBe(200);
    const next = AgentCredentialsSchema.parse(res.body);
    expect(next.refreshCredential).not.toBe(f.polecat.credentials.refreshCredential);
    expect(next.accessToken).not.toBe(f.polecat.token);
    expect(next.gen).toBe(1);
    expect(decodeJwt(next.accessToken).sub).toBe(f.polecat.agent.id);

    // the new token works
    expect((await callTool({ ...f.polecat, token: next.accessToken }, 'status', { text: 'refreshed' })).status).toBe(200);

    const agent = await agentView(f, f.polecat.agent.id);
    expect(agent.credential).toMatchObject({
      refreshCount: 1,
      tokenExpiresAt: next.accessTokenExpiresAt,
      tokenIssuedAt: next.accessTokenIssuedAt,
      state: 'healthy',
    });
    expect(typeof agent.credential.lastRefreshAt).toBe('number');

    const all = await events(f);
    expect(all.filter((e) => e.type === 'credential.refreshed' && e.agentId === f.polecat.agent.id)).toHaveLength(1);
    const serialized = JSON.stringify(all);
    for (const secret of [next.accessToken, next.refreshCredential, f.polecat.credentials.refreshCredential, f.polecat.token]) {
      expect(serialized).not.toContain(secret);
    }
  });

  it('a replay within the grace window returns the same pair and does not count as a second refresh', async () => {
    const f = await setupTown();
    const first = await refresh(f.town.id, f.polecat.credentials.refreshCredential);
    vi.setSystemTime(Date.now() + (REFRESH_GRACE_SECONDS - 5) * 1000);
    const replay = await refresh(f.town.id, f.polecat.credentials.refreshCredential);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(first.body);
    vi.useRealTimers();
    expect((await agentView(f, f.polecat.agent.id)).credential.refreshCount).toBe(1);
  });

  it('reuse after the grace window: 401 refresh_reused, credential_reuse_detected event, the family is dead', async () => {
    const f = await setupTown();
    const first = await refresh(f.town.id, f.polecat.credentials.refreshCredential);
    expect(first.status).toBe(200);
    vi.setSystemTime(Date.now() + (REFRESH_GRACE_SECONDS + 1) * 1000);
    expectError(await refresh(f.town.id, f.polecat.credentials.refreshCredential), 401, 'refresh_reused');
    const reuse = (await events(f)).filter((e) => e.type === 'credential_reuse_detected');
    expect(reuse).toEqual([expect.objectContaining({ agentId: f.polecat.agent.id })]);
    expect(JSON.stringify(reuse)).not.toContain(f.polecat.credentials.refreshCredential);
    // the successor handed out by the first refresh belongs to the revoked family
    expectError(await refresh(f.town.id, first.body.refreshCredential), 401, 'token_revoked');
  });

  it('a stopped agent cannot refresh: 401 token_revoked', async () => {
    const f = await setupTown();
    await call('POST', `/api/towns/${f.town.id}/agents/${f.polecat.agent.id}/stop`, { token: f.userToken });
    expectError(await refresh(f.town.id, f.polecat.credentials.refreshCredential), 401, 'token_revoked');
  });

  it('a refresh credential only works in its own town', async () => {
    const f = await setupTown();
    const g = await setupTown();
    expectError(await refresh(g.town.id, f.polecat.credentials.refreshCredential), 401, 'refresh_invalid');
  });

  it('mints with min(town agentTokenTtlSeconds, deployment TTL)', async () => {
    const f = await setupTown();
    await call('PATCH', `/api/towns/${f.town.id}/config`, { token: f.userToken, body: { agentTokenTtlSeconds: 120 } });
    const short = AgentCredentialsSchema.parse((await refresh(f.town.id, f.polecat.credentials.refreshCredential)).body);
    expect((short.accessTokenExpiresAt - short.accessTokenIssuedAt) / 1000).toBe(120);

    await call('PATCH', `/api/towns/${f.town.id}/config`, { token: f.userToken, body: { agentTokenTtlSeconds: 7200 } });
    const capped = AgentCredentialsSchema.parse((await refresh(f.town.id, short.refreshCredential)).body);
    expect((capped.accessTokenExpiresAt - capped.accessTokenIssuedAt) / 1000).toBe(3600);
  });

  it('an access token is not a refresh credential', async () => {
    const f = await setupTown();
    expectError(await refresh(f.town.id, f.polecat.token), 401, 'refresh_invalid');
  });
});
