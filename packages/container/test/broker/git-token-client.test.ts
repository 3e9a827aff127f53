/** ControlPlaneClient.gitToken against the fake control plane: the one request path, its auth and its checks. */
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, type GitTokenGrant } from '@gastown/protocol';
import { AGENT } from './support';
import { wire, type Wired } from './http-support';

let w: Wired | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

const RIG = AGENT.rigId!;
const GRANT: GitTokenGrant = { rigId: RIG, token: 'opaque-git-token-from-cp-0001', username: 'x-access-token', expiresAt: Date.UTC(2026, 0, 1, 13) };

describe('ControlPlaneClient.gitToken', () => {
  it('POSTs the rig id with the live token and returns the grant', async () => {
    w = await wire({ cp: { gitTokens: () => GRANT } });
    await expect(w.client.gitToken(RIG)).resolves.toEqual(GRANT);
    expect(w.cp.requestsFor('gitToken')).toMatchObject([{ method: 'POST', auth: 'valid', status: 200, agentId: AGENT.id }]);
  });

  it('401 token_expired once → one refresh, one retry, the grant', async () => {
    w = await wire({ cp: { gitTokens: () => GRANT } });
    w.cp.failNextWith('token_expired', { route: 'gitToken' });
    await expect(w.client.gitToken(RIG)).resolves.toEqual(GRANT);
    expect(w.cp.requestsFor('refresh')).toHaveLength(1);
    expect(w.cp.requestsFor('gitToken').map((r) => r.status)).toEqual([401, 200]);
  });

  it.each([
    { name: 'another rig', rigId: 'rig_another01', code: 'token_scope' },
    { name: 'a rig without git credentials', rigId: RIG, code: 'not_found', noIssuer: true },
  ])('$name → $code', async ({ rigId, code, noIssuer }) => {
    w = await wire({ cp: { gitTokens: noIssuer ? null : () => GRANT } });
    expect(codeOf(await w.client.gitToken(rigId).catch((e: unknown) => e), 'internal')).toBe(code);
  });

  it('a grant for another rig than asked is refused (upstream_failed)', async () => {
    w = await wire({ cp: { gitTokens: () => ({ ...GRANT, rigId: 'rig_another01' }) } });
    expect(codeOf(await w.client.gitToken(RIG).catch((e: unknown) => e), 'internal')).toBe('upstream_failed');
  });

  it('a mayor gets no git token (role_forbidden)', async () => {
    w = await wire({ agent: { ...AGENT, id: 'ag_mayor0001', role: 'mayor', rigId: null }, cp: { gitTokens: () => GRANT } });
    expect(codeOf(await w.client.gitToken(RIG).catch((e: unknown) => e), 'internal')).toBe('role_forbidden');
  });
});
