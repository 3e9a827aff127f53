/**
 * A cached verification never outlives revocation: through the real agent routes, a token whose
 * verification is in the cache is refused (401 token_revoked) on the very next request after its
 * agent is stopped or re-dispatched, because the TownDO checks the generation on every request.
 * The app here is the worker's own (createApp over loadAppDeps) with a cache the test can read;
 * the last test goes through the worker's default export, as deployed.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VerifiedTokenCache } from '../../src/auth';
import { loadAppDeps } from '../../src/config';
import { createApp } from '../../src/http/app';
import { BASE, call, callTool, issue, setupTown, toolPath, type AgentWithCredentials } from '../helpers';

type App = ReturnType<typeof createApp>;

function appWithCache(): { app: App; cache: VerifiedTokenCache } {
  const deps = loadAppDeps(env);
  const cache = new VerifiedTokenCache({ clock: deps.clock });
  return { app: createApp({ ...deps, verifiedTokens: cache }), cache };
}

async function statusVia(app: App, who: AgentWithCredentials, token = who.token): Promise<{ status: number; code: string | null }> {
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}${toolPath(who.agent.townId, who.agent.id, 'status')}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'working' }),
  });
  const res = await app.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  const body = (await res.json()) as { error?: { code?: string } };
  return { status: res.status, code: body.error?.code ?? null };
}

async function stop(userToken: string, who: AgentWithCredentials): Promise<void> {
  const res = await call('POST', `/api/towns/${who.agent.townId}/agents/${who.agent.id}/stop`, { token: userToken });
  expect(res.status).toBe(200);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('verified-token cache × revocation, through the agent routes', () => {
  it('a stopped agent: its cached token is refused on the very next request', async () => {
    const { app, cache } = appWithCache();
    const w = await setupTown();
    expect(await statusVia(app, w.polecat)).toEqual({ status: 200, code: null });
    expect(await statusVia(app, w.polecat)).toEqual({ status: 200, code: null });
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 }); // verified once, then served from the cache

    await stop(w.userToken, w.polecat);
    expect(await statusVia(app, w.polecat)).toEqual({ status: 401, code: 'token_revoked' });
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1 }); // the refused request was a cache hit
    expect(await statusVia(app, w.polecat)).toEqual({ status: 401, code: 'token_revoked' });
  });

  it('a re-dispatched agent (gen + 1): the old cached token is refused, the new one works', async () => {
    const { app, cache } = appWithCache();
    const w = await setupTown();
    const old = w.refinery;
    expect(await statusVia(app, old)).toEqual({ status: 200, code: null });
    const fresh = await issue(w.town.id, old.agent.id);
    expect(await statusVia(app, old)).toEqual({ status: 401, code: 'token_revoked' });
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
    expect(await statusVia(app, fresh)).toEqual({ status: 200, code: null });
  });

  it('expiry is honoured for a cached token (Date faked: the worker and the TownDO see it)', async () => {
    const { app, cache } = appWithCache();
    const w = await setupTown();
    expect(await statusVia(app, w.mayor)).toEqual({ status: 200, code: null });
    const expiresAt = w.mayor.credentials.accessTokenExpiresAt;
    vi.useFakeTimers({ now: expiresAt + 30_000, toFake: ['Date'] }); // past exp, within the 60 s tolerance
    expect(await statusVia(app, w.mayor)).toEqual({ status: 200, code: null });
    expect(cache.stats().hits).toBe(1);
    vi.setSystemTime(expiresAt + 61_000);
    expect(await statusVia(app, w.mayor)).toEqual({ status: 401, code: 'token_expired' });
    expect(cache.stats().hits).toBe(1);
  });

  it('the deployed entry: a token used twice, then its agent stopped, is refused at once', async () => {
    const w = await setupTown();
    for (let i = 0; i < 2; i += 1) expect((await callTool(w.polecat, 'status', { text: `call ${i}` })).status).toBe(200);
    await stop(w.userToken, w.polecat);
    const res = await callTool(w.polecat, 'status', { text: 'after stop' });
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 401, code: 'token_revoked' });
  });
});
