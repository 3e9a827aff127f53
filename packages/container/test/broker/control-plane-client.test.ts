import { afterEach, describe, expect, it } from 'vitest';
import { CredentialError, GastownError } from '@gastown/protocol';
import { AGENT } from './support';
import { T0, wire } from './http-support';
import type { Wired } from './http-support';

let w: Wired | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  return promise.then(
    () => null,
    (e: unknown) => (e instanceof GastownError ? e.code : `untyped:${String(e)}`),
  );
}

describe('control-plane client against the fake control plane (real HTTP)', () => {
  it('sends the live token as Bearer and validates the result', async () => {
    w = await wire();
    const result = await w.client.tool('list_rigs', {});
    expect(result).toMatchObject({ rigs: [{ townId: AGENT.townId }] });
    expect(w.cp.requestsFor('tool')).toMatchObject([{ auth: 'valid', status: 200, agentId: AGENT.id, tool: 'list_rigs' }]);
  });

  it.each([{ code: 'token_expired' as const }, { code: 'token_revoked' as const }])(
    '401 $code once → exactly one refresh, one retry with the new token, success',
    async ({ code }) => {
      w = await wire();
      w.cp.failNextWith(code, { route: 'tool' });
      await expect(w.client.tool('status', { text: 'working' })).resolves.toEqual({ ok: true });
      expect(w.cp.requestsFor('refresh')).toHaveLength(1);
      const tools = w.cp.requestsFor('tool');
      expect(tools.map((r) => [r.status, r.code])).toEqual([
        [401, code],
        [200, null],
      ]);
      expect(tools[0]!.credentialFingerprint).not.toBe(tools[1]!.credentialFingerprint);
      expect(w.broker.status()).toMatchObject({ unauthorizedCount: 1, lastRefreshSource: 'reactive', refreshCount: 1 });
    },
  );

  it('a really revoked agent (gen bumped) → the refresh is refused, the call fails with token_revoked, the broker is revoked', async () => {
    w = await wire();
    w.cp.revokeAgent(AGENT.id);
    const err = await w.client.tool('status', { text: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialError);
    expect((err as CredentialError).code).toBe('token_revoked');
    expect(w.broker.status().state).toBe('revoked');
    expect(w.cp.requestsFor('refresh')).toHaveLength(1);
    expect(w.cp.requestsFor('tool')).toHaveLength(1);
  });

  it.each([
    { name: 'bad args → validation_failed', tool: 'status' as const, args: { text: '' }, code: 'validation_failed' },
    { name: 'wrong role → role_forbidden', tool: 'sling' as const, args: { rigId: 'rig_rig00001', title: 't' }, code: 'role_forbidden' },
  ])('server errors are typed by their code: $name', async ({ tool, args, code }) => {
    w = await wire();
    expect(await codeOf(w.client.tool(tool, args))).toBe(code);
    expect(w.cp.requestsFor('refresh')).toHaveLength(0);
  });

  it('an unreachable control plane → control_plane_unavailable', async () => {
    w = await wire();
    await w.cp.stop();
    expect(
      await codeOf(
        w.client.heartbeat({
          containerInstanceId: 'c1',
          runtimeState: 'running',
          activity: 'working',
          credential: w.broker.status(),
          pid: null,
          sessionId: null,
        }),
      ),
    ).toBe('control_plane_unavailable');
  });

  it('a lost refresh response is retried with the same credential and replayed within the grace window', async () => {
    w = await wire();
    w.cp.dropNextRefreshResponse();
    await w.timers.advance(3_000);
    const refreshes = w.cp.requestsFor('refresh');
    expect(refreshes.map((r) => r.auth)).toEqual(['valid', 'replay']);
    expect(refreshes[0]!.credentialFingerprint).toBe(refreshes[1]!.credentialFingerprint);
    expect(w.cp.reuseDetected).toEqual([]);
    expect(w.broker.status().state).toBe('valid');
    await expect(w.client.tool('status', { text: 'still here' })).resolves.toEqual({ ok: true });
  });

  it('control plane refused for 40 % of the TTL, starting at the refresh point → callers never see a credential failure', async () => {
    const ttlMs = 30_000;
    w = await wire({ cp: { tokenTtlSeconds: ttlMs / 1000 } });
    const refreshAt = w.broker.status().nextRefreshAt!;
    expect(refreshAt - T0).toBe(ttlMs / 2);
    let outageFrom = Infinity;
    let outageTo = -Infinity;
    const outageErrors: Array<string | null> = [];
    let ok = 0;
    for (let t = T0; t <= T0 + 4 * ttlMs; t += 500) {
      if (t === refreshAt - 500) {
        w.cp.refuseAllFor(0.4 * ttlMs);
        outageFrom = w.cp.now();
        outageTo = outageFrom + 0.4 * ttlMs;
      }
      await w.timers.advanceTo(t);
      const inOutage = t >= outageFrom && t < outageTo;
      const code = await codeOf(w.client.tool('status', { text: `t+${t - T0}` }));
      if (inOutage) outageErrors.push(code);
      else {
        expect(code, `call at t+${t - T0}ms`).toBeNull();
        ok += 1;
      }
    }
    expect(ok).toBeGreaterThan(150);
    // during the outage the calls themselves could not get through, and said so, typed
    expect(new Set(outageErrors)).toEqual(new Set(['control_plane_unavailable']));
    // no request ever reached the control plane with an expired or revoked token
    const authed = w.cp.requests.filter((r) => r.route === 'tool' && r.auth !== 'refused');
    expect(authed.every((r) => r.auth === 'valid')).toBe(true);
    expect(w.cp.requestsFor('refresh').filter((r) => r.auth === 'valid').length).toBeGreaterThanOrEqual(4);
    expect(w.broker.status()).toMatchObject({ state: 'valid', consecutiveFailures: 0 });
  });

  it.each([
    { name: 'control plane 60 s ahead', skewMs: 60_000 },
    { name: 'control plane 60 s behind', skewMs: -60_000 },
  ])('$name: tokens rotate on time and every call arrives valid over 5 TTLs', async ({ skewMs }) => {
    w = await wire({ cp: { tokenTtlSeconds: 10, skewMs } });
    for (let t = T0; t <= T0 + 50_000; t += 250) {
      await w.timers.advanceTo(t);
      await w.client.tool('status', { text: 'ok' });
    }
    const tools = w.cp.requestsFor('tool');
    expect(tools.every((r) => r.auth === 'valid')).toBe(true);
    expect(w.cp.requestsFor('refresh').length).toBeGreaterThanOrEqual(5);
    expect(w.broker.status().unauthorizedCount).toBe(0);
  });

  it('without scheduled refresh the token expires and the first call after expiry must refresh reactively', async () => {
    w = await wire({ scheduledRefresh: false });
    await w.timers.advance(3_500);
    expect(w.cp.requestsFor('refresh')).toHaveLength(0);
    expect(w.broker.status().state).toBe('expired');
    await expect(w.client.tool('status', { text: 'late' })).resolves.toEqual({ ok: true });
    expect(w.broker.status().lastRefreshSource).toBe('reactive');
  });

  it('never logs a token or refresh credential', async () => {
    w = await wire();
    w.cp.failNextWith('token_expired', { route: 'tool' });
    w.cp.dropNextRefreshResponse();
    // The dropped refresh response is retried once after a short jittered pause (manual timers).
    let settled = false;
    const call = w.client.tool('status', { text: 'x' }).finally(() => (settled = true));
    for (let i = 0; i < 50 && !settled; i++) {
      await w.timers.advance(200);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await expect(call).resolves.toEqual({ ok: true });
    expect(w.cp.requestsFor('refresh').length).toBe(2);
    const text = w.log.text();
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\./);
    expect(text).not.toMatch(/gtr_[A-Za-z0-9_-]{8,}/);
  });
});
