/**
 * Credential confusion on the user API: every user route × every credential that is not a user
 * token (an agent access token, a refresh credential, the container key, the admin secret) and
 * every wrong way of presenting the right one (Basic scheme, query string, cookie, trailing
 * junk). Each → 401 with the right code, the credential never echoed, nothing changes.
 */
import { CONTAINER_KEY_HEADER, type ErrorCode } from '@gastown/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, type CallOptions } from '../helpers';
import { expectHealthy, runRefusal, type RefusalCase } from './support';
import { allSecrets, buildWorld, snapshotWorld, type World } from './world';

interface Route {
  method: string;
  path: (w: World) => string;
  body?: unknown;
}

const town = (w: World) => `/api/towns/${w.town.id}`;
const ROUTES: Route[] = [
  { method: 'GET', path: () => '/api/towns' },
  { method: 'POST', path: () => '/api/towns', body: { name: 'confused-town' } },
  { method: 'GET', path: town },
  { method: 'PATCH', path: (w) => `${town(w)}/config`, body: { runtime: 'kilo' } },
  { method: 'GET', path: (w) => `${town(w)}/rigs` },
  { method: 'POST', path: (w) => `${town(w)}/rigs`, body: { name: 'confused-rig', gitUrl: 'https://example.com/c.git' } },
  { method: 'GET', path: (w) => `${town(w)}/agents` },
  // reissue before stop: the positive control stops the agent, after which reissue is a conflict
  { method: 'POST', path: (w) => `${town(w)}/agents/${w.polecat.agent.id}/credentials/reissue` },
  { method: 'POST', path: (w) => `${town(w)}/agents/${w.polecat.agent.id}/stop` },
  { method: 'GET', path: (w) => `${town(w)}/beads` },
  { method: 'GET', path: (w) => `${town(w)}/mail` },
  { method: 'GET', path: (w) => `${town(w)}/mayor/messages` },
  { method: 'POST', path: (w) => `${town(w)}/mayor/messages`, body: { text: 'hello' } },
  { method: 'GET', path: (w) => `${town(w)}/events` },
  { method: 'GET', path: (w) => `${town(w)}/events/stream` },
];

interface Presentation {
  name: string;
  code: ErrorCode;
  headers: (w: World) => Record<string, string>;
  query?: (w: World) => string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const PRESENTATIONS: Presentation[] = [
  { name: "the mayor's agent access token", code: 'token_malformed', headers: (w) => bearer(w.mayor.token) },
  { name: 'a refresh credential', code: 'token_malformed', headers: (w) => bearer(w.polecat.credentials.refreshCredential) },
  { name: 'the container key as a bearer', code: 'token_malformed', headers: (w) => bearer(w.containerKey) },
  { name: 'the admin secret as a bearer', code: 'token_malformed', headers: (w) => bearer(w.adminSecret) },
  { name: 'the container key in its own header', code: 'token_missing', headers: (w) => ({ [CONTAINER_KEY_HEADER]: w.containerKey }) },
  { name: 'the user token with the Basic scheme', code: 'token_malformed', headers: (w) => ({ authorization: `Basic ${w.userToken}` }) },
  { name: 'the user token with trailing junk', code: 'token_malformed', headers: (w) => ({ authorization: `Bearer ${w.userToken} extra` }) },
  { name: 'the user token in the query string', code: 'token_missing', headers: () => ({}), query: (w) => `access_token=${w.userToken}` },
  { name: 'the user token as a cookie', code: 'token_missing', headers: (w) => ({ cookie: `token=${w.userToken}` }) },
];

function withQuery(path: string, query: string | undefined): string {
  if (!query) return path;
  return `${path}${path.includes('?') ? '&' : '?'}${query}`;
}

const CASES: RefusalCase<World>[] = ROUTES.flatMap((r) =>
  PRESENTATIONS.map((p): RefusalCase<World> => ({
    name: `${r.method} ${r.path({ town: { id: ':town' }, polecat: { agent: { id: ':agent' } } } as World)} with ${p.name}`,
    method: r.method,
    path: (w) => withQuery(r.path(w), p.query?.(w)),
    code: p.code,
    opts: (w): CallOptions => ({ headers: p.headers(w), ...(r.body === undefined ? {} : { body: r.body }) }),
    secrets: allSecrets,
  })),
);

let w: World;
beforeAll(async () => {
  w = await buildWorld();
});

describe('user routes × the wrong credential', () => {
  it.each(CASES)('$name → $code, nothing changes', async (c) => {
    await runRefusal(w, c, snapshotWorld);
  });

  it('afterwards the worker is healthy and the user token opens every route', async () => {
    await expectHealthy();
    for (const r of ROUTES.filter((route) => !route.path(w).endsWith('/stream'))) {
      const res = await call(r.method, r.path(w), { token: w.userToken, ...(r.body === undefined ? {} : { body: r.body }) });
      expect({ route: `${r.method} ${r.path(w)}`, ok: res.status < 300 ? true : res.body }).toEqual({ route: `${r.method} ${r.path(w)}`, ok: true });
    }
  });
});
