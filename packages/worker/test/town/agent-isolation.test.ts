import { AgentSchema, type CredentialStatus } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call, setupTown, type AgentWithCredentials, type TownFixture } from '../helpers';

const credential: CredentialStatus = {
  accessTokenExpiresAt: Date.now() + 3_600_000,
  tokenFingerprint: '0123abcd',
  nextRefreshAt: null,
  lastRefreshAt: null,
  lastRefreshSource: 'dispatch',
  refreshCount: 0,
  consecutiveFailures: 0,
  unauthorizedCount: 0,
  lastError: null,
  state: 'valid',
};

function heartbeat(who: AgentWithCredentials, extra: Record<string, unknown> = {}) {
  return call('POST', `/agent/towns/${who.agent.townId}/agents/${who.agent.id}/heartbeat`, {
    token: who.token,
    body: { containerInstanceId: 'ci-1', runtimeState: 'running', activity: 'working', credential, pid: 42, sessionId: 's-1', ...extra },
  });
}

async function listed(f: TownFixture, agentId: string) {
  const res = await call('GET', `/api/towns/${f.town.id}/agents`, { token: f.userToken });
  expect(res.status).toBe(200);
  return AgentSchema.parse(res.body.agents.find((a: { id: string }) => a.id === agentId));
}

describe('agent isolation', () => {
  it('unknown until a heartbeat reports it; the user API then shows the reported level, kept across heartbeats without one', async () => {
    const f = await setupTown();
    expect((await listed(f, f.polecat.agent.id)).isolation).toBeNull();
    expect((await heartbeat(f.polecat, { isolation: 'uid' })).status).toBe(200);
    expect((await listed(f, f.polecat.agent.id)).isolation).toBe('uid');
    expect((await heartbeat(f.polecat)).status).toBe(200);
    expect((await listed(f, f.polecat.agent.id)).isolation).toBe('uid');
  });
});
