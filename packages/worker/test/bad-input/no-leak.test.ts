/**
 * No credential is stored in the control plane's state or returned where it does not belong:
 * after refused requests that carry credentials in the wrong places and ordinary traffic
 * (refresh, heartbeat, events, tools, config with a provider key, stop), no row of any TownDO or
 * RegistryDO table holds an access token, a refresh credential, the admin secret, the container
 * key or a signing secret (refresh credentials are stored as SHA-256 only), the provider key
 * lives only in town_env_vars, and no user-API read returns any of them.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, callTool } from '../helpers';
import { snapshotWorld, agentPath, buildWorld, validHeartbeat, type World } from './world';

const PROVIDER_KEY = 'sk-no-leak-provider-key-0123456789abcdef';

let w: World;
const issued: string[] = [];

function signingSecrets(): string[] {
  const keys = (env as unknown as Record<string, string | undefined>).GASTOWN_JWT_KEYS;
  return keys ? Object.values(JSON.parse(keys) as Record<string, string>) : [];
}

beforeAll(async () => {
  w = await buildWorld();
  const town = `/api/towns/${w.town.id}`;
  // refused: credentials in the wrong places (and in bodies)
  await call('GET', '/api/towns', { token: w.polecat.token });
  await call('POST', agentPath(w, 'polecat', 'tools/status'), { token: w.polecat.credentials.refreshCredential, body: { text: 'x' } });
  await call('POST', agentPath(w, 'polecat', 'tools/status'), { token: w.polecat.token, body: { text: 'x', token: w.polecat.token } });
  await call('POST', `/agent/towns/${w.town.id}/refresh`, { token: w.mayor.token });
  await call('POST', `/agent/towns/${w.town.id}/refresh`, { body: { refreshCredential: w.mayor.credentials.refreshCredential } });
  await call('POST', '/api/admin/user-tokens', { token: w.containerKey, body: { userId: 'x' } });
  await call('PATCH', `${town}/config`, { token: w.userToken, body: { envVars: { [w.refinery.token]: 'v' } } }); // a JWT (dots) is never a valid name
  await call('POST', `${town}/rigs`, { token: w.userToken, body: { name: 'leaky', gitUrl: `https://x-access-token:${w.adminSecret}@github.com/o/r.git` } });
  // ordinary traffic
  expect((await call('PATCH', `${town}/config`, { token: w.userToken, body: { envVars: { OPENAI_API_KEY: PROVIDER_KEY } } })).status).toBe(200);
  const refreshed = await call('POST', `/agent/towns/${w.town.id}/refresh`, { token: w.polecat.credentials.refreshCredential });
  expect(refreshed.status).toBe(200);
  issued.push(refreshed.body.accessToken, refreshed.body.refreshCredential);
  const token = refreshed.body.accessToken as string;
  expect((await call('POST', agentPath(w, 'polecat', 'heartbeat'), { token, body: validHeartbeat })).status).toBe(200);
  expect(
    (
      await call('POST', agentPath(w, 'polecat', 'events'), {
        token,
        body: { events: [{ id: 'evt_noleak0001', type: 'tool.called', at: 1, data: { tool: 'status' } }] },
      })
    ).status,
  ).toBe(200);
  expect((await callTool(w.mayor, 'list_agents')).status).toBe(200);
  expect((await call('POST', `${town}/agents/${w.refinery.agent.id}/credentials/reissue`, { token: w.userToken })).status).toBe(200);
  expect((await call('POST', `${town}/agents/${w.refinery.agent.id}/stop`, { token: w.userToken })).status).toBe(200);
});

function credentials(): Array<[string, string]> {
  return [
    ['user token', w.userToken],
    ['admin secret', w.adminSecret],
    ['container key', w.containerKey],
    ...signingSecrets().map((s, i): [string, string] => [`signing secret ${i + 1}`, s]),
    ...[w.mayor, w.polecat, w.refinery].flatMap((a): Array<[string, string]> => [
      [`${a.agent.role} access token`, a.token],
      [`${a.agent.role} refresh credential`, a.credentials.refreshCredential],
    ]),
    ['refreshed access token', issued[0] as string],
    ['refreshed refresh credential', issued[1] as string],
  ];
}

describe('no credential leaks from the control plane', () => {
  it('no table of the town or registry holds a credential', async () => {
    const state = JSON.stringify(await snapshotWorld(w));
    for (const [name, value] of credentials()) expect(state.includes(value), `${name} is stored`).toBe(false);
  });

  it('the provider key is stored only as a town env var value', async () => {
    const snap = (await snapshotWorld(w)) as { town: Record<string, unknown[]> };
    const holders = Object.entries(snap.town)
      .filter(([, rows]) => JSON.stringify(rows).includes(PROVIDER_KEY))
      .map(([table]) => table);
    expect(holders).toEqual(['town_env_vars']);
  });

  it('no user-API read returns a credential or the provider key', async () => {
    const town = `/api/towns/${w.town.id}`;
    const reads = await Promise.all(
      ['', '/rigs', '/agents', '/beads', '/mail', '/events?limit=500', '/mayor/messages'].map((p) => call('GET', `${town}${p}`, { token: w.userToken })),
    );
    const text = JSON.stringify(reads.map((r) => r.body));
    expect(reads.every((r) => r.status === 200)).toBe(true);
    for (const [name, value] of [...credentials(), ['provider key', PROVIDER_KEY] as [string, string]])
      expect(text.includes(value), `${name} is returned`).toBe(false);
  });
});
