/** The fake control plane is test infrastructure; these pin the behaviour the other tests rely on. */
import { afterEach, describe, expect, it } from 'vitest';
import { AgentCredentialsSchema } from '@gastown/protocol';
import { ManualClock, startFakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import type { FakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import { AGENT } from './support';

let cp: FakeControlPlane | null = null;
afterEach(async () => {
  await cp?.stop();
  cp = null;
});

async function refresh(url: string, credential: string) {
  const res = await fetch(`${url}/agent/towns/${AGENT.townId}/refresh`, { method: 'POST', headers: { authorization: `Bearer ${credential}` }, body: '{}' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
}

async function tool(url: string, token: string, agentId = AGENT.id, name = 'status', args: unknown = { text: 'x' }) {
  const res = await fetch(`${url}/agent/towns/${AGENT.townId}/agents/${agentId}/tools/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
}

describe('fake control plane', () => {
  it('rotates refresh credentials: single use, replay within grace, reuse after grace revokes the family', async () => {
    const clock = new ManualClock();
    cp = await startFakeControlPlane({ clock, refreshGraceSeconds: 30 });
    const first = await cp.issueCredentials(AGENT);
    const a = await refresh(cp.url, first.refreshCredential);
    expect(a.status).toBe(200);
    const rotated = AgentCredentialsSchema.parse(a.body);
    expect(rotated.refreshCredential).not.toBe(first.refreshCredential);
    clock.advance(10_000);
    expect((await refresh(cp.url, first.refreshCredential)).body).toEqual(a.body); // replay
    clock.advance(30_000);
    const reused = await refresh(cp.url, first.refreshCredential);
    expect([reused.status, reused.body.error?.code]).toEqual([401, 'refresh_reused']);
    expect(cp.reuseDetected).toEqual([AGENT.id]);
    // the whole family is dead, the rotated credential too
    expect((await refresh(cp.url, rotated.refreshCredential)).body.error?.code).toBe('refresh_invalid');
    expect(cp.requestsFor('refresh').map((r) => r.auth)).toEqual(['valid', 'replay', 'reused', 'invalid']);
  });

  it('verifies tokens: valid, expired at exp, revoked by gen, scoped to the agent', async () => {
    const clock = new ManualClock();
    cp = await startFakeControlPlane({ clock, tokenTtlSeconds: 3 });
    const creds = await cp.issueCredentials(AGENT);
    expect((await tool(cp.url, creds.accessToken)).status).toBe(200);
    expect((await tool(cp.url, creds.accessToken, 'ag_someoneelse')).body.error?.code).toBe('token_scope');
    clock.set(creds.accessTokenExpiresAt);
    expect((await tool(cp.url, creds.accessToken)).body.error?.code).toBe('token_expired');
    const grant = await cp.mintGrant(AGENT.id);
    expect((await tool(cp.url, grant.accessToken)).status).toBe(200);
    cp.revokeAgent(AGENT.id);
    expect((await tool(cp.url, grant.accessToken)).body.error?.code).toBe('token_revoked');
    expect((await refresh(cp.url, creds.refreshCredential)).body.error?.code).toBe('token_revoked');
    expect(cp.requestsFor('tool').map((r) => r.auth)).toEqual(['valid', 'scope', 'expired', 'valid', 'revoked']);
  });

  it('answers every tool with a schema-valid result, validates args and roles', async () => {
    cp = await startFakeControlPlane();
    const mayor = { ...AGENT, id: 'ag_mayor0001', role: 'mayor' as const, rigId: null };
    const m = await cp.issueCredentials(mayor);
    const p = await cp.issueCredentials(AGENT);
    const cases: Array<[string, unknown]> = [
      ['sling', { rigId: 'rig_rig00001', title: 'do it' }],
      ['list_rigs', {}],
      ['list_beads', {}],
      ['list_agents', {}],
      ['mail_send', { to: 'mayor', subject: 's' }],
      ['mail_check', {}],
      ['escalate', { title: 'help' }],
      ['status', { text: 'ok' }],
      ['prime', {}],
      ['bead_status', { beadId: 'bd_00000001' }],
    ];
    for (const [name, args] of cases) expect((await tool(cp.url, m.accessToken, mayor.id, name, args)).status, name).toBe(200);
    expect((await tool(cp.url, p.accessToken, AGENT.id, 'done', { branch: 'gt/x/y' })).status).toBe(200);
    expect((await tool(cp.url, p.accessToken, AGENT.id, 'sling', { rigId: 'rig_rig00001', title: 't' })).body.error?.code).toBe('role_forbidden');
    expect((await tool(cp.url, p.accessToken, AGENT.id, 'status', {})).body.error?.code).toBe('validation_failed');
  });

  it('fault injection: refuse for a while (reset or 503), fail next with a code, on control-plane time', async () => {
    const clock = new ManualClock();
    cp = await startFakeControlPlane({ clock });
    const creds = await cp.issueCredentials(AGENT);
    cp.refuseAllFor(1000, '503');
    expect((await tool(cp.url, creds.accessToken)).status).toBe(503);
    clock.advance(1000);
    cp.failNextWith('token_expired');
    expect((await tool(cp.url, creds.accessToken)).body.error?.code).toBe('token_expired');
    expect((await tool(cp.url, creds.accessToken)).status).toBe(200);
    cp.refuseAllFor(1000);
    await expect(tool(cp.url, creds.accessToken)).rejects.toThrow();
  });

  it('skew: the control plane’s clock runs ahead by skewMs', async () => {
    const clock = new ManualClock();
    cp = await startFakeControlPlane({ clock, skewMs: 60_000 });
    const creds = await cp.issueCredentials(AGENT);
    expect(creds.accessTokenIssuedAt).toBe(Math.floor((clock.now() + 60_000) / 1000) * 1000);
    expect(cp.now()).toBe(clock.now() + 60_000);
  });
});
