/**
 * Hostile strings in every user-chosen name, branch name, env var name, user id, git URL and path
 * id of the user and admin API: each → 400 validation_failed (or the route's typed 4xx), nothing
 * stored, never echoed back, no crash. Positive controls prove each field accepts a good value.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers';
import { HOSTILE_GIT_URLS, HOSTILE_STRINGS, type Hostile } from '@gastown/testkit/hostile-strings';
import { installTownSeams } from '../support/town-seams';
import { expectHealthy, runRefusal, type RefusalCase } from './support';

const GIT_ADVERTISEMENT = { 'content-type': 'application/x-git-upload-pack-advertisement' };
import { buildWorld, snapshotWorld, type World } from './world';

interface Field {
  name: string;
  method: string;
  path: (w: World) => string;
  token: (w: World) => string;
  body: (value: string) => unknown;
  /** A value the field accepts (positive control). */
  good: string;
}

const town = (w: World) => `/api/towns/${w.town.id}`;
const RIG_URL = 'https://example.com/hostile-test.git';

const FIELDS: Field[] = [
  { name: 'town name', method: 'POST', path: () => '/api/towns', token: (w) => w.userToken, body: (v) => ({ name: v }), good: 'a-good-town' },
  {
    name: 'rig name',
    method: 'POST',
    path: (w) => `${town(w)}/rigs`,
    token: (w) => w.userToken,
    body: (v) => ({ name: v, gitUrl: RIG_URL }),
    good: 'a-good-rig',
  },
  {
    name: 'rig default branch',
    method: 'POST',
    path: (w) => `${town(w)}/rigs`,
    token: (w) => w.userToken,
    body: (v) => ({ name: 'branch-rig', gitUrl: RIG_URL, defaultBranch: v }),
    good: 'release/v1.2',
  },
  {
    name: 'rig git URL',
    method: 'POST',
    path: (w) => `${town(w)}/rigs`,
    token: (w) => w.userToken,
    body: (v) => ({ name: 'url-rig', gitUrl: v }),
    good: 'git@github.com:o/r.git',
  },
  {
    name: 'env var name',
    method: 'PATCH',
    path: (w) => `${town(w)}/config`,
    token: (w) => w.userToken,
    body: (v) => ({ envVars: { [v]: 'value' } }),
    good: 'GOOD_VAR',
  },
  {
    name: 'provider apiKeyEnvVar',
    method: 'PATCH',
    path: (w) => `${town(w)}/config`,
    token: (w) => w.userToken,
    body: (v) => ({ provider: { kind: 'openai-compatible', baseUrl: 'https://llm.example.com/v1', model: 'm', apiKeyEnvVar: v } }),
    good: 'LLM_KEY',
  },
  {
    name: 'admin userId',
    method: 'POST',
    path: () => '/api/admin/user-tokens',
    token: (w) => w.adminSecret,
    body: (v) => ({ userId: v }),
    good: 'alice@example.com',
  },
];

function fieldCase(f: Field, h: Hostile): RefusalCase<World> {
  return {
    name: `${f.name} = ${h.name}`,
    method: f.method,
    path: f.path,
    code: 'validation_failed',
    opts: (w) => ({ token: f.token(w), body: f.body(h.value) }),
    secrets: () => [h.value],
  };
}

const gitField = FIELDS.find((f) => f.name === 'rig git URL') as Field;

const CASES: RefusalCase<World>[] = [
  ...FIELDS.flatMap((f) => HOSTILE_STRINGS.map((h) => fieldCase(f, h))),
  ...HOSTILE_GIT_URLS.map((h) => fieldCase(gitField, h)),
  ...HOSTILE_STRINGS.map((h): RefusalCase<World> => ({
    name: `town id in the path = ${h.name}`,
    method: 'GET',
    path: () => `/api/towns/${encodeURIComponent(h.value)}/rigs`,
    code: 'validation_failed',
    opts: (w) => ({ token: w.userToken }),
  })),
  ...HOSTILE_STRINGS.map((h): RefusalCase<World> => ({
    name: `agent id in the stop path = ${h.name}`,
    method: 'POST',
    path: (w) => `${town(w)}/agents/${encodeURIComponent(h.value)}/stop`,
    code: 'validation_failed',
    opts: (w) => ({ token: w.userToken }),
  })),
];

let w: World;
beforeAll(async () => {
  w = await buildWorld();
});

describe('user and admin API × hostile strings', () => {
  it.each(CASES)('$name → $code, nothing stored', async (c) => {
    await runRefusal(w, c, snapshotWorld);
  });

  it('afterwards the worker is healthy and every field accepts a good value', async () => {
    await expectHealthy();
    for (const f of FIELDS) {
      const res = await call(f.method, f.path(w), { token: f.token(w), body: f.body(f.good) });
      expect({ field: f.name, status: res.status < 300 ? 'ok' : res.body }).toEqual({ field: f.name, status: 'ok' });
    }
  });

  it.each([
    'https://github.com/o/r.git',
    'http://git.internal:8080/r.git',
    'ssh://git@github.com/o/r.git',
    'ssh://git@host.example:2222/r.git',
    'git@github.com:o/r.git',
    'file:///srv/git/r.git',
    '/srv/git/r.git',
  ])('a legitimate remote is still accepted: %s', async (gitUrl) => {
    // the http(s) ones are read before they are added (rig access check): a git host that has them
    installTownSeams(env.TOWN.idFromName(w.town.id).toString(), { fetch: async () => new Response('0000', { status: 200, headers: GIT_ADVERTISEMENT }) });
    const res = await call('POST', `${town(w)}/rigs`, { token: w.userToken, body: { name: `ok-${Math.random().toString(36).slice(2, 10)}`, gitUrl } });
    expect({ status: res.status, gitUrl: res.body.rig?.gitUrl }).toEqual({ status: 201, gitUrl });
  });
});
