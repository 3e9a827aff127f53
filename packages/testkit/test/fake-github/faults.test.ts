import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeApp, type FakeGitHub, type FaultSpec } from '../../src/fake-github/index';
import { api, appJwt, ManualClock } from './support';

let gh: FakeGitHub;
let clock: ManualClock;
let app: FakeApp;
let installationId: string;

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  gh = await startFakeGitHub({ clock });
  gh.createRepo('acme', 'widgets');
  app = gh.createApp();
  installationId = gh.createInstallation(app.appId, ['acme/widgets']);
});
beforeEach(() => gh.clearFaults());
afterAll(async () => {
  await gh.stop();
});

async function requestToken(): Promise<number> {
  const res = await api(gh.apiBaseUrl, 'POST', `/app/installations/${installationId}/access_tokens`, `Bearer ${await appJwt(app, clock.now())}`, {});
  return res.status;
}

describe('fake GitHub: faults', () => {
  const cases: Array<{ name: string; spec: FaultSpec; status: number }> = [
    { name: 'refuse_tokens (503)', spec: { kind: 'refuse_tokens' }, status: 503 },
    { name: 'token_401', spec: { kind: 'token_401' }, status: 401 },
    { name: 'token_5xx (default 500)', spec: { kind: 'token_5xx' }, status: 500 },
    { name: 'token_5xx 502', spec: { kind: 'token_5xx', status: 502 }, status: 502 },
  ];
  it.each(cases)('$name fails token requests until cleared', async ({ spec, status }) => {
    gh.fault(spec);
    expect(await requestToken()).toBe(status);
    expect(await requestToken()).toBe(status);
    expect(gh.apiRequests.at(-1)).toMatchObject({ status, fault: spec.kind, authOutcome: 'refused' });
    gh.clearFaults();
    expect(await requestToken()).toBe(201);
  });

  it('refuse_tokens with reset drops the connection', async () => {
    gh.fault({ kind: 'refuse_tokens', refuseWith: 'reset', times: 1 });
    await expect(requestToken()).rejects.toThrow();
    expect(gh.apiRequests.at(-1)).toMatchObject({ fault: 'refuse_tokens', status: 0 });
    expect(await requestToken()).toBe(201);
  });

  it('ends at `until` by the fake’s clock', async () => {
    gh.fault({ kind: 'refuse_tokens', until: clock.now() + 4_000 });
    expect(await requestToken()).toBe(503);
    clock.advance(3_999);
    expect(await requestToken()).toBe(503);
    clock.advance(1);
    expect(await requestToken()).toBe(201);
  });

  it('counts `times`', async () => {
    gh.fault({ kind: 'token_5xx', times: 2 });
    expect([await requestToken(), await requestToken(), await requestToken()]).toEqual([500, 500, 201]);
  });

  it('slow delays the answer, then answers normally', async () => {
    gh.fault({ kind: 'slow', delayMs: 300, times: 1 });
    const started = Date.now();
    expect(await requestToken()).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('api_401 refuses token-authenticated REST calls with a good token', async () => {
    const pat = gh.createPat(['acme/widgets']);
    gh.fault({ kind: 'api_401', times: 1 });
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets', `token ${pat}`)).status).toBe(401);
    expect((await api(gh.apiBaseUrl, 'GET', '/repos/acme/widgets', `token ${pat}`)).status).toBe(200);
  });

  it('rejects an unknown fault kind', () => {
    expect(() => gh.fault({ kind: 'nope' as FaultSpec['kind'] })).toThrow(expect.objectContaining({ code: 'validation_failed' }));
  });
});
