/**
 * Bad input on the user API and the admin endpoint: the full body-shape table for the admin
 * endpoint, the shapes test/town/bad-bodies lacks for the user write routes, bodies on the
 * body-less routes (stop, reissue), out-of-range config values, bad path ids and query strings
 * on every read route, and wrong methods. Each → typed 4xx, nothing changes, no crash.
 */
import { LIMITS } from '@gastown/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, type CallResult } from '../helpers';
import { bodyShapeCases, expectHealthy, expectRefusal, JSON_HEADERS, runRefusal, type BodyShapeKind, type RefusalCase } from './support';
import { allSecrets, buildWorld, snapshotWorld, type World } from './world';

const NEW_KINDS: readonly BodyShapeKind[] = ['utf8', 'null', 'string', 'proto', 'noContentType', 'missingField'];
const BODYLESS_KINDS: readonly BodyShapeKind[] = ['truncated', 'utf8', 'textPlain', 'oversizedDeclared', 'oversizedChunked'];
const town = (w: World) => `/api/towns/${w.town.id}`;
const user = (w: World) => w.userToken;

const SHAPE_CASES: RefusalCase<World>[] = [
  ...bodyShapeCases<World>({
    name: 'admin user-tokens',
    method: 'POST',
    path: () => '/api/admin/user-tokens',
    token: (w) => w.adminSecret,
    shape: () => ({ valid: { userId: 'someone', ttlSeconds: 3600 }, wrongType: ['ttlSeconds', '3600'] }),
    required: 'userId',
  }),
  ...bodyShapeCases<World>({
    name: 'create town',
    method: 'POST',
    path: () => '/api/towns',
    token: user,
    shape: () => ({ valid: { name: 'fresh-town' }, wrongType: ['name', 1] }),
    required: 'name',
    only: NEW_KINDS,
  }),
  ...bodyShapeCases<World>({
    name: 'patch config',
    method: 'PATCH',
    path: (w) => `${town(w)}/config`,
    token: user,
    shape: () => ({ valid: { runtime: 'kilo' }, wrongType: ['runtime', 1] }),
    required: null,
    only: NEW_KINDS,
  }),
  ...bodyShapeCases<World>({
    name: 'add rig',
    method: 'POST',
    path: (w) => `${town(w)}/rigs`,
    token: user,
    shape: () => ({ valid: { name: 'fresh-rig', gitUrl: 'https://example.com/fresh.git' }, wrongType: ['defaultBranch', 1] }),
    required: 'gitUrl',
    only: NEW_KINDS,
  }),
  ...bodyShapeCases<World>({
    name: 'mayor message',
    method: 'POST',
    path: (w) => `${town(w)}/mayor/messages`,
    token: user,
    shape: () => ({ valid: { text: 'hello' }, wrongType: ['text', 1] }),
    required: 'text',
    only: NEW_KINDS,
  }),
  ...bodyShapeCases<World>({
    name: 'stop agent (no body expected)',
    method: 'POST',
    path: (w) => `${town(w)}/agents/${w.polecat.agent.id}/stop`,
    token: user,
    shape: () => ({ valid: {}, wrongType: ['unused', 1] }),
    required: null,
    only: BODYLESS_KINDS,
  }),
  ...bodyShapeCases<World>({
    name: 'reissue (no body expected)',
    method: 'POST',
    path: (w) => `${town(w)}/agents/${w.polecat.agent.id}/credentials/reissue`,
    token: user,
    shape: () => ({ valid: {}, wrongType: ['unused', 1] }),
    required: null,
    only: BODYLESS_KINDS,
  }),
];

function config(name: string, body: unknown): RefusalCase<World> {
  return {
    name: `patch config: ${name}`,
    method: 'PATCH',
    path: (w) => `${town(w)}/config`,
    code: 'validation_failed',
    opts: (w) => ({ token: w.userToken, body }),
  };
}
const provider = (over: Record<string, unknown>) => ({
  provider: { kind: 'openai-compatible', baseUrl: 'https://llm.example.com/v1', model: 'm', apiKeyEnvVar: null, ...over },
});

const VALUE_CASES: RefusalCase<World>[] = [
  config('sleepAfterSeconds below the minimum', { sleepAfterSeconds: 9 }),
  config('sleepAfterSeconds above the maximum', { sleepAfterSeconds: 7 * 24 * 3600 + 1 }),
  config('float sleepAfterSeconds', { sleepAfterSeconds: 60.5 }),
  config('agentTokenTtlSeconds below the minimum', { agentTokenTtlSeconds: 1 }),
  config('agentTokenTtlSeconds above the maximum', { agentTokenTtlSeconds: 24 * 3600 + 1 }),
  config(`${LIMITS.maxEnvVars + 1} env vars`, { envVars: Object.fromEntries(Array.from({ length: LIMITS.maxEnvVars + 1 }, (_, i) => [`VAR_${i}`, 'v'])) }),
  config('env var value too long', { envVars: { LONG_VALUE: 'v'.repeat(LIMITS.maxEnvValueChars + 1) } }),
  config('env var value of the wrong type', { envVars: { NUMBER: 42 } }),
  config('provider of an unknown kind', provider({ kind: 'azure' })),
  config('provider baseUrl not a URL', provider({ baseUrl: 'not a url' })),
  config('provider model with spaces', provider({ model: 'gpt 4; rm -rf /' })),
  // issue 14: apiKeyEnvVar defaults per kind now; an openai-compatible provider still needs its baseUrl, any provider a default model
  config('openai-compatible provider missing baseUrl', { provider: { kind: 'openai-compatible', model: 'm', apiKeyEnvVar: null } }),
  config('provider without a default model', { provider: { kind: 'openai' } }),
  config('unknown runtime', { runtime: 'bash' }),
  {
    name: 'patch config: 1e309 (Infinity)',
    method: 'PATCH',
    path: (w) => `${town(w)}/config`,
    code: 'validation_failed',
    opts: (w) => ({ token: w.userToken, rawBody: '{"sleepAfterSeconds":1e309}', headers: JSON_HEADERS }),
  },
  {
    name: 'admin: ttlSeconds below the minimum',
    method: 'POST',
    path: () => '/api/admin/user-tokens',
    code: 'validation_failed',
    opts: (w) => ({ token: w.adminSecret, body: { userId: 'u', ttlSeconds: 59 } }),
  },
  {
    name: 'admin: ttlSeconds above a year',
    method: 'POST',
    path: () => '/api/admin/user-tokens',
    code: 'validation_failed',
    opts: (w) => ({ token: w.adminSecret, body: { userId: 'u', ttlSeconds: 365 * 24 * 3600 + 1 } }),
  },
  {
    name: 'admin: empty userId',
    method: 'POST',
    path: () => '/api/admin/user-tokens',
    code: 'validation_failed',
    opts: (w) => ({ token: w.adminSecret, body: { userId: '' } }),
  },
  {
    name: 'mayor message: empty text',
    method: 'POST',
    path: (w) => `${town(w)}/mayor/messages`,
    code: 'validation_failed',
    opts: (w) => ({ token: w.userToken, body: { text: '' } }),
  },
  {
    name: 'mayor message: text over the limit',
    method: 'POST',
    path: (w) => `${town(w)}/mayor/messages`,
    code: 'validation_failed',
    opts: (w) => ({ token: w.userToken, body: { text: 't'.repeat(LIMITS.maxTextChars + 1) } }),
  },
];

const READ_ROUTES = ['', '/rigs', '/agents', '/beads', '/mail', '/events', '/events/stream', '/mayor/messages'];
const QUERY_ROUTES = ['/beads', '/events', '/events/stream', '/mayor/messages'];
function read(name: string, path: (w: World) => string, code: RefusalCase<World>['code'] = 'validation_failed'): RefusalCase<World> {
  return { name, method: 'GET', path, code, opts: (w) => ({ token: w.userToken }) };
}

const READ_CASES: RefusalCase<World>[] = [
  ...READ_ROUTES.map((suffix) => read(`GET town${suffix}: town id that is not an id`, () => `/api/towns/${encodeURIComponent('../../etc')}${suffix}`)),
  // routes with a query schema refuse unknown parameters (routes without one ignore the query string)
  ...QUERY_ROUTES.map((suffix) => read(`GET town${suffix}: unknown query parameter`, (w) => `${town(w)}${suffix}?debug=1`)),
  read('beads: unknown status', (w) => `${town(w)}/beads?status=deleted`),
  read('events: negative after', (w) => `${town(w)}/events?after=-1`),
  read('events: after not a number', (w) => `${town(w)}/events?after=$(id)`),
  read('events: after 1e400', (w) => `${town(w)}/events?after=1e400`),
  read('events: limit 0', (w) => `${town(w)}/events?limit=0`),
  read('events: limit 501', (w) => `${town(w)}/events?limit=501`),
  read('events: after twice', (w) => `${town(w)}/events?after=1&after=2`),
  read('event stream: after not a number', (w) => `${town(w)}/events/stream?after=abc`),
  read('mayor messages: float limit', (w) => `${town(w)}/mayor/messages?limit=1.5`),
  read('GET the stop route (POST only)', (w) => `${town(w)}/agents/${w.polecat.agent.id}/stop`, 'not_found'),
];

const METHOD_CASES: RefusalCase<World>[] = [
  {
    name: 'PUT a town (no such route: PATCH its config, DELETE it)',
    method: 'PUT',
    path: town,
    code: 'not_found',
    opts: (w) => ({ token: w.userToken, body: { name: 'x' } }),
  },
  {
    name: 'PUT the config (PATCH only)',
    method: 'PUT',
    path: (w) => `${town(w)}/config`,
    code: 'not_found',
    opts: (w) => ({ token: w.userToken, body: { runtime: 'kilo' } }),
  },
  { name: 'POST to the event list', method: 'POST', path: (w) => `${town(w)}/events`, code: 'not_found', opts: (w) => ({ token: w.userToken, body: {} }) },
  {
    name: 'GET a tool route',
    method: 'GET',
    path: (w) => `/agent/towns/${w.town.id}/agents/${w.mayor.agent.id}/tools/sling`,
    code: 'not_found',
    opts: (w) => ({ token: w.mayor.token }),
  },
  {
    name: 'GET the refresh route',
    method: 'GET',
    path: (w) => `/agent/towns/${w.town.id}/refresh`,
    code: 'not_found',
    opts: (w) => ({ token: w.polecat.credentials.refreshCredential }),
  },
];

const CASES = [...SHAPE_CASES, ...VALUE_CASES, ...READ_CASES, ...METHOD_CASES].map((c) => ({ ...c, secrets: allSecrets }));

let w: World;
beforeAll(async () => {
  w = await buildWorld();
});

describe('user and admin routes × bad input', () => {
  it('the leak check itself catches a stack trace, a source path and an echoed secret', () => {
    const fake = (message: string): CallResult => ({
      status: 400,
      body: { error: { code: 'validation_failed', message } },
      headers: new Headers({ 'content-type': 'application/json' }),
    });
    expect(() => expectRefusal(fake(String(new Error('boom').stack)), 'validation_failed', 'stack')).toThrow();
    expect(() => expectRefusal(fake('failed in /work/main/packages/worker/src/x.ts:10:3'), 'validation_failed', 'path')).toThrow();
    expect(() => expectRefusal(fake('bad token sekret-value'), 'validation_failed', 'echo', ['sekret-value'])).toThrow();
    expect(() => expectRefusal(fake('body.name: Too small'), 'validation_failed', 'clean', ['sekret-value'])).not.toThrow();
  });

  it.each(CASES)('$name → $code, nothing changes', async (c) => {
    await runRefusal(w, c, snapshotWorld);
  });

  it('afterwards the worker is healthy and every read route answers the owner', async () => {
    await expectHealthy();
    for (const suffix of READ_ROUTES.filter((s) => s !== '/events/stream')) {
      const res = await call('GET', `${town(w)}${suffix}`, { token: w.userToken });
      expect({ suffix, status: res.status }).toEqual({ suffix, status: 200 });
    }
  });
});
