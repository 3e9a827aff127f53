/**
 * Bad bodies on every body route of the container control API (start, message, credentials,
 * stop, merge): malformed and non-UTF-8 JSON, non-object JSON, wrong types, unknown and missing
 * fields, a `__proto__` key, wrong or absent media types, oversized bodies (declared and
 * chunked, and a lying Content-Length), plus out-of-range values. Each → its typed 4xx over real
 * HTTP, nothing changes (agents, control-plane calls, prompts, origin), the container stays up.
 */
import { LIMITS, type ErrorCode } from '@gastown/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyShapeCases, expectHealthy, identity, keyHeaders, rawHttp, runRefusal, send, startStack, type RefusalCase, type Stack } from './support';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

const url = (path: string) => (st: Stack) => `${st.container.url}${path}`;
const NEW_REFINERY = identity('refinery', 'ag_refinery2', 'rig_abc123');
const mergeBody = (st: Stack) => ({
  agentId: st.refinery.identity.id,
  rig: { ...st.fx.rig, gitUrl: st.fx.originPath },
  mergeRequestBeadId: 'bd_mr000001',
  branch: 'gt/ag_polecat01/bd_badinput1',
  commit: 'a'.repeat(40),
  message: 'Merge it',
});

const SHAPE_CASES: RefusalCase[] = [
  ...bodyShapeCases({
    name: 'start agent',
    url: url('/agents'),
    headers: () => keyHeaders(),
    shape: async (st) => ({ valid: (await st.startRequest(NEW_REFINERY)) as unknown as Record<string, unknown>, wrongType: ['prompt', 42] }),
    required: 'credentials',
  }),
  ...bodyShapeCases({
    name: 'deliver message',
    url: (st) => `${st.container.url}/agents/${st.mayor.identity.id}/messages`,
    headers: () => keyHeaders(),
    shape: () => ({ valid: { text: 'hello' }, wrongType: ['text', ['hello']] }),
    required: 'text',
  }),
  ...bodyShapeCases({
    name: 'push credentials',
    url: (st) => `${st.container.url}/agents/${st.mayor.identity.id}/credentials`,
    headers: () => keyHeaders(),
    shape: async (st) => ({ valid: { grant: await st.cp.mintGrant(st.mayor.identity.id) }, wrongType: ['grant', 'a-token'] }),
    required: 'grant',
  }),
  ...bodyShapeCases({
    name: 'stop agent',
    url: (st) => `${st.container.url}/agents/${st.polecat.identity.id}/stop`,
    headers: () => keyHeaders(),
    shape: () => ({ valid: { reason: 'done' }, wrongType: ['reason', 5] }),
    required: null,
  }),
  ...bodyShapeCases({
    name: 'merge',
    url: url('/git/merge'),
    headers: () => keyHeaders(),
    shape: (st) => ({ valid: mergeBody(st), wrongType: ['message', 5] }),
    required: 'branch',
  }),
];

function value(name: string, code: ErrorCode, path: (st: Stack) => string, body: (st: Stack) => unknown | Promise<unknown>): RefusalCase {
  return { name, code, send: async (st) => send('POST', `${st.container.url}${path(st)}`, { headers: keyHeaders(), json: await body(st) }) };
}
const start = (over: (st: Stack, base: Record<string, any>) => unknown) => async (st: Stack) =>
  over(st, (await st.startRequest(NEW_REFINERY)) as unknown as Record<string, any>);

const VALUE_CASES: RefusalCase[] = [
  value(
    'start: credentials of another generation',
    'validation_failed',
    () => '/agents',
    start((_st, b) => ({ ...b, agent: { ...b.agent, gen: 2 } })),
  ),
  value(
    'start: a polecat without a bead',
    'validation_failed',
    () => '/agents',
    async (st) => ({ ...(await st.startRequest(identity('polecat', 'ag_polecat02', 'rig_abc123'))), bead: null }),
  ),
  value(
    'start: a refinery without a rig',
    'validation_failed',
    () => '/agents',
    start((_st, b) => ({ ...b, rig: null })),
  ),
  value(
    'start: agent rigId ≠ rig id',
    'validation_failed',
    () => '/agents',
    start((_st, b) => ({ ...b, agent: { ...b.agent, rigId: 'rig_other001' } })),
  ),
  value(
    'start: controlPlaneUrl not a URL',
    'validation_failed',
    () => '/agents',
    start((_st, b) => ({ ...b, controlPlaneUrl: 'not a url' })),
  ),
  value(
    'start: refresh credential without the gtr_ prefix',
    'validation_failed',
    () => '/agents',
    start((_st, b) => ({ ...b, credentials: { ...b.credentials, refreshCredential: 'xyz_0123456789abcdefghij' } })),
  ),
  value(
    'start: negative idle timeout',
    'validation_failed',
    () => '/agents',
    start((_st, b) => ({ ...b, runtime: { ...b.runtime, idleTimeoutSeconds: -1 } })),
  ),
  value(
    'start: unknown runtime kind',
    'validation_failed',
    () => '/agents',
    start((_st, b) => ({ ...b, runtime: { ...b.runtime, kind: 'bash' } })),
  ),
  value(
    'start: prompt over the limit',
    'validation_failed',
    () => '/agents',
    start((_st, b) => ({ ...b, prompt: 'p'.repeat(LIMITS.maxTextChars + 1) })),
  ),
  value(
    'message: empty text',
    'validation_failed',
    (st) => `/agents/${st.mayor.identity.id}/messages`,
    () => ({ text: '' }),
  ),
  value(
    'message: text over the limit',
    'validation_failed',
    (st) => `/agents/${st.mayor.identity.id}/messages`,
    () => ({ text: 't'.repeat(LIMITS.maxTextChars + 1) }),
  ),
  value(
    'message: to an unknown agent',
    'not_found',
    () => '/agents/ag_nobody001/messages',
    () => ({ text: 'hi' }),
  ),
  value(
    'credentials: grant with gen 0',
    'validation_failed',
    (st) => `/agents/${st.mayor.identity.id}/credentials`,
    async (st) => ({ grant: { ...(await st.cp.mintGrant(st.mayor.identity.id)), gen: 0 } }),
  ),
  value(
    'credentials: access token too short',
    'validation_failed',
    (st) => `/agents/${st.mayor.identity.id}/credentials`,
    async (st) => ({ grant: { ...(await st.cp.mintGrant(st.mayor.identity.id)), accessToken: 'short' } }),
  ),
  value(
    'credentials: to an unknown agent',
    'not_found',
    () => '/agents/ag_nobody001/credentials',
    async (st) => ({ grant: await st.cp.mintGrant(st.mayor.identity.id) }),
  ),
  value(
    'stop: reason over 500 chars',
    'validation_failed',
    (st) => `/agents/${st.polecat.identity.id}/stop`,
    () => ({ reason: 'r'.repeat(501) }),
  ),
  value(
    'stop: an unknown agent',
    'not_found',
    () => '/agents/ag_nobody001/stop',
    () => ({}),
  ),
  value(
    'merge: empty message',
    'validation_failed',
    () => '/git/merge',
    (st) => ({ ...mergeBody(st), message: '' }),
  ),
  value(
    'merge: by a polecat',
    'role_forbidden',
    () => '/git/merge',
    (st) => ({ ...mergeBody(st), agentId: st.polecat.identity.id }),
  ),
  value(
    'merge: by an unknown agent',
    'not_found',
    () => '/git/merge',
    (st) => ({ ...mergeBody(st), agentId: 'ag_nobody001' }),
  ),
  {
    name: 'a lying Content-Length (declares 10 MB, sends 2 bytes)',
    code: 'payload_too_large',
    send: (st) =>
      rawHttp(
        st.container.url,
        `POST /agents/${st.mayor.identity.id}/messages HTTP/1.1\nx-gastown-container-key: ${keyHeaders()['x-gastown-container-key']}\ncontent-type: application/json\ncontent-length: 10000000`,
        '{}',
      ),
  },
  {
    name: 'chunked body past the limit with a small declared chunk size',
    code: 'payload_too_large',
    send: (st) =>
      rawHttp(
        st.container.url,
        `POST /agents/${st.mayor.identity.id}/messages HTTP/1.1\nx-gastown-container-key: ${keyHeaders()['x-gastown-container-key']}\ncontent-type: application/json\ntransfer-encoding: chunked`,
        `${(LIMITS.maxBodyBytes + 10).toString(16)}\r\n${'x'.repeat(LIMITS.maxBodyBytes + 10)}\r\n0\r\n\r\n`,
      ),
  },
];

describe('container control API × bad bodies', () => {
  it.each([...SHAPE_CASES, ...VALUE_CASES])('$name → $code, nothing changes', async (c) => {
    await runRefusal(s, c);
  });

  it('afterwards the container is healthy and each route accepts its valid body', async () => {
    await expectHealthy(s);
    const started = await send('POST', `${s.container.url}/agents`, { headers: keyHeaders(), json: await s.startRequest(NEW_REFINERY) });
    expect(started.status).toBe(200);
    expect((await send('POST', `${s.container.url}/agents/${s.mayor.identity.id}/messages`, { headers: keyHeaders(), json: { text: 'hello' } })).status).toBe(
      200,
    );
    expect(s.mayor.runtime.prompts).toEqual(['hello']);
    expect(
      (
        await send('POST', `${s.container.url}/agents/${s.mayor.identity.id}/credentials`, {
          headers: keyHeaders(),
          json: { grant: await s.cp.mintGrant(s.mayor.identity.id) },
        })
      ).status,
    ).toBe(200);
    expect((await send('POST', '/git/merge'.replace(/^/, s.container.url), { headers: keyHeaders(), json: mergeBody(s) })).status).toBe(202);
    expect((await send('POST', `${s.container.url}/agents/${s.polecat.identity.id}/stop`, { headers: keyHeaders(), json: { reason: 'done' } })).status).toBe(
      200,
    );
  });
});
