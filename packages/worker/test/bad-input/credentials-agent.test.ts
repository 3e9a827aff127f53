/**
 * Credential confusion on the agent API, refresh and admin endpoints: every agent route × every
 * credential that is not the agent's access token (its own refresh credential, the container
 * key, the admin secret, a broker key) and wrong presentations of the right one; the refresh
 * route × everything that is not a refresh credential; the admin endpoint × every other
 * credential. Each → the right 401, the credential never echoed, nothing changes (a refresh
 * credential presented in the wrong place is not consumed).
 */
import { CONTAINER_KEY_HEADER, TOOL_NAMES, type ErrorCode } from '@gastown/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers';
import { expectHealthy, runRefusal, type RefusalCase } from './support';
import { agentPath, allSecrets, buildWorld, snapshotWorld, validHeartbeat, type World } from './world';

type Role = 'mayor' | 'polecat' | 'refinery';

interface Route {
  name: string;
  role: Role;
  suffix: string;
  body: (w: World) => unknown;
}

const TOOL_ROLE: Record<string, Role> = { sling: 'mayor', request_changes: 'refinery', done: 'polecat' };
const ROUTES: Route[] = [
  ...TOOL_NAMES.map((tool): Route => ({ name: `tool ${tool}`, role: TOOL_ROLE[tool] ?? 'polecat', suffix: `tools/${tool}`, body: () => ({}) })),
  { name: 'heartbeat', role: 'polecat', suffix: 'heartbeat', body: () => validHeartbeat },
  { name: 'events', role: 'polecat', suffix: 'events', body: () => ({ events: [{ id: 'evt_confused1', type: 'x', at: 1, data: {} }] }) },
  { name: 'completion', role: 'polecat', suffix: 'completion', body: () => ({ outcome: 'completed' }) },
  {
    name: 'merge-result',
    role: 'refinery',
    suffix: 'merge-result',
    body: (w) => ({ mergeRequestBeadId: w.mergeRequestId, outcome: 'merged', commitSha: 'c'.repeat(40) }),
  },
];

interface Presentation {
  name: string;
  code: ErrorCode;
  headers: (w: World, role: Role) => Record<string, string>;
  query?: (w: World, role: Role) => string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const BROKER_KEY_SHAPED = `gtb_${'Q'.repeat(43)}`;

const AGENT_PRESENTATIONS: Presentation[] = [
  { name: "the agent's own refresh credential", code: 'token_malformed', headers: (w, r) => bearer(w[r].credentials.refreshCredential) },
  { name: 'the container key as a bearer', code: 'token_malformed', headers: (w) => bearer(w.containerKey) },
  { name: 'the container key in its own header', code: 'token_missing', headers: (w) => ({ [CONTAINER_KEY_HEADER]: w.containerKey }) },
  { name: 'the admin secret', code: 'token_malformed', headers: (w) => bearer(w.adminSecret) },
  { name: 'a broker key', code: 'token_malformed', headers: () => bearer(BROKER_KEY_SHAPED) },
  { name: 'the access token with the Basic scheme', code: 'token_malformed', headers: (w, r) => ({ authorization: `Basic ${w[r].token}` }) },
  { name: 'the access token in the query string', code: 'token_missing', headers: () => ({}), query: (w, r) => `token=${w[r].token}` },
];

const AGENT_CASES: RefusalCase<World>[] = ROUTES.flatMap((route) =>
  AGENT_PRESENTATIONS.map((p): RefusalCase<World> => ({
    name: `${route.name} with ${p.name}`,
    method: 'POST',
    path: (w) => `${agentPath(w, route.role, route.suffix)}${p.query ? `?${p.query(w, route.role)}` : ''}`,
    code: p.code,
    opts: (w) => ({ headers: p.headers(w, route.role), body: route.body(w) }),
    secrets: allSecrets,
  })),
);

const refreshPath = (w: World) => `/agent/towns/${w.town.id}/refresh`;
function refreshCase(name: string, code: ErrorCode, headers: (w: World) => Record<string, string>, query?: (w: World) => string): RefusalCase<World> {
  return {
    name: `refresh with ${name}`,
    method: 'POST',
    path: (w) => `${refreshPath(w)}${query ? `?${query(w)}` : ''}`,
    code,
    opts: (w) => ({ headers: headers(w) }),
    secrets: allSecrets,
  };
}

const REFRESH_CASES: RefusalCase<World>[] = [
  refreshCase('a user token', 'refresh_invalid', (w) => bearer(w.userToken)),
  refreshCase('the container key', 'refresh_invalid', (w) => bearer(w.containerKey)),
  refreshCase('the admin secret', 'refresh_invalid', (w) => bearer(w.adminSecret)),
  refreshCase('a broker key', 'refresh_invalid', () => bearer(BROKER_KEY_SHAPED)),
  refreshCase('a refresh-credential-shaped guess', 'refresh_invalid', () => bearer(`gtr_${'A'.repeat(43)}`)),
  refreshCase('the refresh credential with the Basic scheme', 'token_malformed', (w) => ({
    authorization: `Basic ${w.polecat.credentials.refreshCredential}`,
  })),
  refreshCase(
    'the refresh credential in the query string',
    'token_missing',
    () => ({}),
    (w) => `refresh=${w.polecat.credentials.refreshCredential}`,
  ),
  {
    name: 'refresh with the refresh credential in the body',
    method: 'POST',
    path: refreshPath,
    code: 'validation_failed',
    opts: (w) => ({ body: { refreshCredential: w.polecat.credentials.refreshCredential } }),
    secrets: allSecrets,
  },
];

function adminCase(name: string, headers: (w: World) => Record<string, string>, query?: (w: World) => string): RefusalCase<World> {
  return {
    name: `admin user-tokens with ${name}`,
    method: 'POST',
    path: (w) => `/api/admin/user-tokens${query ? `?${query(w)}` : ''}`,
    code: 'admin_unauthorized',
    opts: (w) => ({ headers: headers(w), body: { userId: 'mallory' } }),
    secrets: allSecrets,
  };
}

const ADMIN_CASES: RefusalCase<World>[] = [
  adminCase('an agent access token', (w) => bearer(w.mayor.token)),
  adminCase('a refresh credential', (w) => bearer(w.polecat.credentials.refreshCredential)),
  adminCase('the container key', (w) => bearer(w.containerKey)),
  adminCase('the admin secret in the container-key header', (w) => ({ [CONTAINER_KEY_HEADER]: w.adminSecret })),
  adminCase('the admin secret with the Basic scheme', (w) => ({ authorization: `Basic ${w.adminSecret}` })),
  adminCase(
    'the admin secret in the query string',
    () => ({}),
    (w) => `secret=${w.adminSecret}`,
  ),
];

let w: World;
beforeAll(async () => {
  w = await buildWorld();
});

describe('agent, refresh and admin routes × the wrong credential', () => {
  it.each([...AGENT_CASES, ...REFRESH_CASES, ...ADMIN_CASES])('$name → $code, nothing changes', async (c) => {
    await runRefusal(w, c, snapshotWorld);
  });

  it('afterwards the worker is healthy and the right credentials still work', async () => {
    await expectHealthy();
    expect((await call('POST', agentPath(w, 'polecat', 'heartbeat'), { token: w.polecat.token, body: validHeartbeat })).status).toBe(200);
    expect((await call('POST', refreshPath(w), { token: w.polecat.credentials.refreshCredential })).status).toBe(200);
    expect((await call('POST', '/api/admin/user-tokens', { token: w.adminSecret, body: { userId: 'mallory' } })).status).toBe(201);
  });
});
