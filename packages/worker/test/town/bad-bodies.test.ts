/** Bad request bodies on user and agent routes: typed 400/413/415, never a 500, never a state change. */
import { LIMITS } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { call, setupTown, snapshotTown, type CallOptions, type TownFixture } from '../helpers';

interface Target {
  name: string;
  method: string;
  path: (f: TownFixture) => string;
  token: (f: TownFixture) => string;
  /** a body with one bad value per case */
  wrongType: unknown;
  badEnum: unknown;
  unknownField: unknown;
}

const TARGETS: Target[] = [
  {
    name: 'create town',
    method: 'POST',
    path: () => '/api/towns',
    token: (f) => f.userToken,
    wrongType: { name: 42 },
    badEnum: { name: 'UPPER' },
    unknownField: { name: 'ok', extra: 1 },
  },
  {
    name: 'patch config',
    method: 'PATCH',
    path: (f) => `/api/towns/${f.town.id}/config`,
    token: (f) => f.userToken,
    wrongType: { sleepAfterSeconds: '600' },
    badEnum: { runtime: 'vscode' },
    unknownField: { sleepAfterSeconds: 600, secret: 'x' },
  },
  {
    name: 'add rig',
    method: 'POST',
    path: (f) => `/api/towns/${f.town.id}/rigs`,
    token: (f) => f.userToken,
    wrongType: { name: 'r', gitUrl: 7 },
    badEnum: { name: 'r', gitUrl: '--upload-pack=evil' },
    unknownField: { name: 'r', gitUrl: 'https://example.com/x.git', force: true },
  },
  {
    name: 'mayor message',
    method: 'POST',
    path: (f) => `/api/towns/${f.town.id}/mayor/messages`,
    token: (f) => f.userToken,
    wrongType: { text: ['hi'] },
    badEnum: { text: '' },
    unknownField: { text: 'hi', urgent: true },
  },
  {
    name: 'tool sling',
    method: 'POST',
    path: (f) => `/agent/towns/${f.town.id}/agents/${f.mayor.agent.id}/tools/sling`,
    token: (f) => f.mayor.token,
    wrongType: { rigId: 'rig_abcdefgh', title: 5 },
    badEnum: { rigId: 'not an id', title: 'x' },
    unknownField: { rigId: 'rig_abcdefgh', title: 'x', urgency: 1 },
  },
  {
    name: 'tool list_beads',
    method: 'POST',
    path: (f) => `/agent/towns/${f.town.id}/agents/${f.mayor.agent.id}/tools/list_beads`,
    token: (f) => f.mayor.token,
    wrongType: { status: 3 },
    badEnum: { status: 'done' },
    unknownField: { everything: true },
  },
  {
    name: 'heartbeat',
    method: 'POST',
    path: (f) => `/agent/towns/${f.town.id}/agents/${f.polecat.agent.id}/heartbeat`,
    token: (f) => f.polecat.token,
    wrongType: { containerInstanceId: 1, runtimeState: 'running', activity: 'working', credential: {}, pid: null, sessionId: null },
    badEnum: { containerInstanceId: 'c', runtimeState: 'dancing', activity: 'working', credential: {}, pid: null, sessionId: null },
    unknownField: { bogus: 1 },
  },
  {
    name: 'completion',
    method: 'POST',
    path: (f) => `/agent/towns/${f.town.id}/agents/${f.polecat.agent.id}/completion`,
    token: (f) => f.polecat.token,
    wrongType: { outcome: 'completed', reason: 5 },
    badEnum: { outcome: 'exploded' },
    unknownField: { outcome: 'completed', extra: 'x' },
  },
  {
    name: 'merge-result',
    method: 'POST',
    path: (f) => `/agent/towns/${f.town.id}/agents/${f.refinery.agent.id}/merge-result`,
    token: (f) => f.refinery.token,
    wrongType: { mergeRequestBeadId: 'bd_abcdefgh', outcome: 'merged', commitSha: 12 },
    badEnum: { mergeRequestBeadId: 'bd_abcdefgh', outcome: 'rebased' },
    unknownField: { mergeRequestBeadId: 'bd_abcdefgh', outcome: 'merged', force: true },
  },
];

function oversizedStream(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode(`"${'x'.repeat(16 * 1024 - 2)}"`);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

const CASES: { name: string; status: number; code: string; opts: (t: Target) => CallOptions }[] = [
  { name: 'malformed JSON', status: 400, code: 'bad_json', opts: () => ({ rawBody: '{"name": ', headers: { 'content-type': 'application/json' } }) },
  { name: 'a JSON array', status: 400, code: 'validation_failed', opts: () => ({ body: [1, 2] }) },
  { name: 'wrong types', status: 400, code: 'validation_failed', opts: (t) => ({ body: t.wrongType }) },
  { name: 'unknown enum value / bad format', status: 400, code: 'validation_failed', opts: (t) => ({ body: t.badEnum }) },
  { name: 'unknown field', status: 400, code: 'validation_failed', opts: (t) => ({ body: t.unknownField }) },
  {
    name: 'text/plain body',
    status: 415,
    code: 'unsupported_media_type',
    opts: (t) => ({ rawBody: JSON.stringify(t.unknownField), headers: { 'content-type': 'text/plain' } }),
  },
  {
    name: 'form body',
    status: 415,
    code: 'unsupported_media_type',
    opts: () => ({ rawBody: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
  },
  {
    name: 'oversized (Content-Length)',
    status: 413,
    code: 'payload_too_large',
    opts: () => ({ rawBody: JSON.stringify({ text: 'x'.repeat(LIMITS.maxBodyBytes) }), headers: { 'content-type': 'application/json' } }),
  },
  {
    name: 'oversized (streamed, no Content-Length)',
    status: 413,
    code: 'payload_too_large',
    opts: () => ({ rawBody: oversizedStream(LIMITS.maxBodyBytes + 64 * 1024), headers: { 'content-type': 'application/json' } }),
  },
];

describe('bad request bodies', () => {
  it.each(TARGETS)('$name: every bad body gets a typed 4xx and changes nothing', async (target) => {
    const f = await setupTown();
    for (const c of CASES) {
      const before = await snapshotTown(f.town.id);
      const res = await call(target.method, target.path(f), { token: target.token(f), ...c.opts(target) });
      expect({ case: c.name, status: res.status, code: res.body?.error?.code }).toEqual({ case: c.name, status: c.status, code: c.code });
      expect(await snapshotTown(f.town.id), `${target.name} / ${c.name}`).toEqual(before);
    }
  });

  it('validation messages name the field paths', async () => {
    const f = await setupTown();
    const res = await call('PATCH', `/api/towns/${f.town.id}/config`, {
      token: f.userToken,
      body: { provider: { kind: 'openai-compatible', baseUrl: 'not a url', model: 'm', apiKeyEnvVar: null }, sleepAfterSeconds: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toContain('body.provider.baseUrl');
    expect(res.body.error.message).toContain('body.sleepAfterSeconds');
  });

  it('bad query strings and path ids are typed 400s', async () => {
    const f = await setupTown();
    const q = await call('GET', `/api/towns/${f.town.id}/beads?status=exploded`, { token: f.userToken });
    expect({ status: q.status, code: q.body.error.code }).toEqual({ status: 400, code: 'validation_failed' });
    expect(q.body.error.message).toContain('query.status');
    const extra = await call('GET', `/api/towns/${f.town.id}/events?after=1&bogus=2`, { token: f.userToken });
    expect({ status: extra.status, code: extra.body.error.code }).toEqual({ status: 400, code: 'validation_failed' });
    const badId = await call('GET', '/api/towns/NOT_AN_ID', { token: f.userToken });
    expect({ status: badId.status, code: badId.body.error.code }).toEqual({ status: 400, code: 'validation_failed' });
  });

  it('an empty body on an argument-less tool is accepted as {}', async () => {
    const f = await setupTown();
    const res = await call('POST', `/agent/towns/${f.town.id}/agents/${f.mayor.agent.id}/tools/list_rigs`, { token: f.mayor.token });
    expect(res.status).toBe(200);
  });

  it('a missing body where fields are required is a validation failure, not a crash', async () => {
    const f = await setupTown();
    const res = await call('POST', `/api/towns/${f.town.id}/mayor/messages`, { token: f.userToken });
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 400, code: 'validation_failed' });
  });

  it('an unauthenticated bad body is refused for the credential, not the body', async () => {
    const f = await setupTown();
    const res = await call('POST', `/agent/towns/${f.town.id}/agents/${f.mayor.agent.id}/tools/sling`, {
      rawBody: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 401, code: 'token_missing' });
  });
});
