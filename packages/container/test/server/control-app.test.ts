import { CONTAINER_KEY_HEADER } from '@gastown/protocol';
import { describe, expect, it, vi } from 'vitest';
import type { AgentControl } from '../../src/supervisor';
import { createControlApp } from '../../src/server';
import { grant, RIG, silentLogger, startRequest } from '../supervisor/fakes';
import { CONTAINER_KEY, errorCode, useControlApp } from './control-app-support';

const KEY = CONTAINER_KEY;
const POLECAT = 'ag_polecat01';
const REFINERY = 'ag_refinery1';
const ctl = useControlApp();
const { call } = ctl;

const mergeBody = {
  agentId: REFINERY,
  rig: RIG,
  mergeRequestBeadId: 'bd_mr000001',
  branch: `gt/${POLECAT}/bd_bead0001`,
  commit: 'a'.repeat(40),
  message: 'Merge it',
};

const ROUTES = [
  { method: 'GET', path: '/agents' },
  { method: 'POST', path: '/agents', body: startRequest('polecat') },
  { method: 'GET', path: `/agents/${POLECAT}` },
  { method: 'POST', path: `/agents/${POLECAT}/messages`, body: { text: 'hi' } },
  { method: 'POST', path: `/agents/${POLECAT}/credentials`, body: { grant: grant(1, 2_000_000) } },
  { method: 'POST', path: `/agents/${POLECAT}/stop`, body: {} },
  { method: 'POST', path: '/git/merge', body: mergeBody },
  { method: 'GET', path: '/no/such/route' },
];

describe('container key', () => {
  const BAD_KEYS = [
    { name: 'no key', headers: {} as Record<string, string> },
    { name: 'wrong key', headers: { [CONTAINER_KEY_HEADER]: 'test-container-key-0123456789abcdeX' } },
    { name: 'prefix of the key', headers: { [CONTAINER_KEY_HEADER]: KEY.slice(0, 10) } },
    { name: 'key as bearer', headers: { authorization: `Bearer ${KEY}` } },
  ];
  for (const route of ROUTES) {
    it.each(BAD_KEYS)(`${route.method} ${route.path}: $name → 401 container_unauthorized, handler never runs`, async ({ headers }) => {
      const calls: string[] = [];
      const spy = new Proxy({} as AgentControl, {
        get: (_t, prop) => () => {
          calls.push(String(prop));
          throw new Error('handler ran');
        },
      });
      const guarded = createControlApp({ control: spy, containerKey: KEY, instanceId: 'ci_x', startedAt: 0, logger: silentLogger });
      const init: RequestInit = { method: route.method, headers: { ...headers, 'content-type': 'application/json' } };
      if (route.body !== undefined) init.body = JSON.stringify(route.body);
      const res = await guarded.request(route.path, init);
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe('container_unauthorized');
      expect(calls).toEqual([]);
    });
  }

  it('GET /health needs no key and reveals only readiness facts', async () => {
    await call('POST', '/agents', startRequest('polecat'));
    const res = await ctl.get('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, instanceId: 'ci_test0001', startedAt: 1234, agents: 1 });
  });

  it('refuses to build with a short key', () => {
    expect(() => createControlApp({ control: ctl.h.supervisor, containerKey: 'short', instanceId: 'x', startedAt: 0, logger: silentLogger })).toThrow();
  });
});

describe('routes', () => {
  it('start → status → message → credentials → stop', async () => {
    let res = await call('POST', '/agents', startRequest('polecat'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ agentId: POLECAT, runtimeState: 'running', gen: 1 });

    res = await call('GET', `/agents/${POLECAT}`);
    expect(await res.json()).toMatchObject({ agentId: POLECAT, pid: 1001 });
    res = await call('GET', '/agents');
    expect((await res.json()) as unknown).toMatchObject({ agents: [{ agentId: POLECAT }] });

    const g = grant(1, 2_000_000);
    res = await call('POST', `/agents/${POLECAT}/messages`, { text: 'more', grant: g });
    expect(res.status).toBe(200);
    expect(ctl.h.log.slice(-2)).toEqual([`${POLECAT}:broker.push:message`, `${POLECAT}:runtime.prompt`]);

    res = await call('POST', `/agents/${POLECAT}/credentials`, { grant: grant(1, 2_500_000) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { credential: { refreshCount: number } }).credential.refreshCount).toBe(2);

    res = await call('POST', `/agents/${POLECAT}/stop`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ runtimeState: 'exited' });
    expect(ctl.h.latest(POLECAT).client.completions).toEqual([expect.objectContaining({ outcome: 'stopped', reason: 'stopped' })]);
  });

  it('stop after the turn: answered at once with the run still working; its next refused model call ends it', async () => {
    await call('POST', '/agents', startRequest('polecat'));
    let res = await call('POST', `/agents/${POLECAT}/stop`, { reason: 'spend_cap', afterTurn: true });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ runtimeState: 'running', activity: 'working' });
    expect(ctl.h.latest(POLECAT).client.completions).toEqual([]);
    const registration = ctl.h.brokerApi.registrations.get(POLECAT)!;
    expect(registration.refuseModelCalls!()).toBe(true);
    registration.onModelCallRefused!();
    await vi.waitFor(() => expect(ctl.h.latest(POLECAT).client.completions).toEqual([expect.objectContaining({ outcome: 'stopped', reason: 'spend_cap' })]));
    res = await call('GET', `/agents/${POLECAT}`);
    expect(await res.json()).toMatchObject({ runtimeState: 'exited' });
  });

  it('POST /git/merge → 202, then mergeResult through the refinery client with the outcome', async () => {
    await call('POST', '/agents', startRequest('refinery'));
    ctl.h.git.mergeResult = { outcome: 'conflict', files: ['shared.txt'], message: 'conflicts in: shared.txt' };
    const res = await call('POST', '/git/merge', mergeBody);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: true });
    await ctl.h.supervisor.drain();
    expect(ctl.h.latest(REFINERY).client.mergeResults).toEqual([
      { mergeRequestBeadId: 'bd_mr000001', outcome: 'conflict', commitSha: null, message: 'conflicts in: shared.txt' },
    ]);
  });

  it.each([
    { name: 'status', method: 'GET', path: '/agents/ag_nobody01', body: undefined },
    { name: 'message', method: 'POST', path: '/agents/ag_nobody01/messages', body: { text: 'x' } },
    { name: 'credentials', method: 'POST', path: '/agents/ag_nobody01/credentials', body: { grant: grant(1, 1) } },
    { name: 'stop', method: 'POST', path: '/agents/ag_nobody01/stop', body: {} },
    { name: 'merge', method: 'POST', path: '/git/merge', body: { ...mergeBody, agentId: 'ag_nobody01' } },
  ])('unknown agent → 404 not_found: $name', async ({ method, path, body }) => {
    const res = await call(method, path, body);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('not_found');
  });

  it.each([
    { name: 'start: invalid JSON', method: 'POST', path: '/agents', body: '{"agent":', status: 400, code: 'bad_json' },
    { name: 'start: empty object', method: 'POST', path: '/agents', body: {}, status: 400, code: 'validation_failed' },
    { name: 'start: no body', method: 'POST', path: '/agents', body: undefined, status: 400, code: 'validation_failed' },
    {
      name: 'start: hostile git URL',
      method: 'POST',
      path: '/agents',
      body: startRequest('polecat', { rig: { ...RIG, gitUrl: '--upload-pack=x' } }),
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'start: text/plain',
      method: 'POST',
      path: '/agents',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      code: 'unsupported_media_type',
    },
    { name: 'start: too large', method: 'POST', path: '/agents', body: { pad: 'x'.repeat(300 * 1024) }, status: 413, code: 'payload_too_large' },
    { name: 'message: empty text', method: 'POST', path: `/agents/${POLECAT}/messages`, body: { text: '' }, status: 400, code: 'validation_failed' },
    { name: 'credentials: no grant', method: 'POST', path: `/agents/${POLECAT}/credentials`, body: { refresh: null }, status: 400, code: 'validation_failed' },
    {
      name: 'credentials: bad refresh prefix',
      method: 'POST',
      path: `/agents/${POLECAT}/credentials`,
      body: { grant: grant(1, 1), refresh: { refreshCredential: 'nope_nope_nope_nope_nope', refreshCredentialExpiresAt: 1 } },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'stop: reason too long',
      method: 'POST',
      path: `/agents/${POLECAT}/stop`,
      body: { reason: 'x'.repeat(501) },
      status: 400,
      code: 'validation_failed',
    },
    {
      name: 'merge: hostile branch',
      method: 'POST',
      path: '/git/merge',
      body: { ...mergeBody, branch: '--upload-pack=x' },
      status: 400,
      code: 'validation_failed',
    },
    { name: 'merge: branch escape', method: 'POST', path: '/git/merge', body: { ...mergeBody, branch: '../x' }, status: 400, code: 'validation_failed' },
    { name: 'bad agent id in path', method: 'GET', path: '/agents/..%2Fetc', body: undefined, status: 400, code: 'validation_failed' },
  ])('bad request → typed error: $name', async ({ method, path, body, status, code, headers }) => {
    await call('POST', '/agents', startRequest('polecat'));
    const res = await call(method, path, body, { [CONTAINER_KEY_HEADER]: KEY, ...(headers ?? {}) });
    expect(res.status).toBe(status);
    expect(await errorCode(res)).toBe(code);
  });

  it('validation errors never echo submitted values', async () => {
    const body = startRequest('polecat');
    const res = await call('POST', '/agents', { ...body, credentials: { ...body.credentials, refreshCredential: 'not-a-gtr-secret-value-123' } });
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('not-a-gtr-secret-value-123');
  });

  it('an unexpected error is a 500 internal without details', async () => {
    const broken = createControlApp({
      control: {
        ...ctl.h.supervisor,
        list: () => {
          throw new Error('secret detail');
        },
      } as unknown as AgentControl,
      containerKey: KEY,
      instanceId: 'x',
      startedAt: 0,
      logger: silentLogger,
    });
    const res = await broken.request('/agents', { headers: { [CONTAINER_KEY_HEADER]: KEY } });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('secret detail');
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'internal error' } });
  });
});
