import { afterEach, describe, expect, it } from 'vitest';
import { GastownError } from '@gastown/protocol';
import type { CredentialBroker } from '../../src/broker';
import { createCredentialBroker } from '../../src/broker';
import { SecretRegistry } from '../../src/log';
import { ManualClock, ManualTimers, settle } from '@gastown/testkit/fake-control-plane/index';
import { AGENT, RefreshStub, captureLogger, credentials, seeded } from './support';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

interface Setup {
  clock: ManualClock;
  timers: ManualTimers;
  stub: RefreshStub;
  broker: CredentialBroker;
  secrets: SecretRegistry;
  log: ReturnType<typeof captureLogger>;
  initial: ReturnType<typeof credentials>;
}

const brokers: CredentialBroker[] = [];
afterEach(() => {
  for (const b of brokers.splice(0)) b.stop();
});

function setup(
  opts: { ttlMs?: number; seed?: number; random?: () => number; skewMs?: number; scheduledRefresh?: boolean; reactiveRefresh?: boolean } = {},
): Setup {
  const ttlMs = opts.ttlMs ?? HOUR;
  const skew = opts.skewMs ?? 0; // local clock minus server clock
  const clock = new ManualClock(T0 + skew);
  const timers = new ManualTimers(clock);
  const serverNow = () => clock.now() - skew;
  const stub = new RefreshStub(serverNow, ttlMs, () => clock.now());
  const secrets = new SecretRegistry();
  const log = captureLogger(secrets);
  const initial = credentials(serverNow(), ttlMs);
  const broker = createCredentialBroker({
    agent: AGENT,
    controlPlaneUrl: 'http://cp.test/',
    initial,
    clock,
    random: opts.random ?? seeded(opts.seed ?? 42),
    timers,
    fetch: stub.fetch,
    logger: log.logger,
    secrets,
    ...(opts.scheduledRefresh !== undefined ? { scheduledRefresh: opts.scheduledRefresh } : {}),
    ...(opts.reactiveRefresh !== undefined ? { reactiveRefresh: opts.reactiveRefresh } : {}),
  });
  brokers.push(broker);
  return { clock, timers, stub, broker, secrets, log, initial };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GastownError);
  expect((err as GastownError).code).toBe(code);
}

describe('scheduled pull refresh', () => {
  it('schedules the first refresh within [40 %, 60 %] of the life, over many seeds', async () => {
    for (let seed = 1; seed <= 200; seed += 1) {
      const s = setup({ seed });
      s.broker.start();
      const at = s.timers.nextAt();
      expect(at).not.toBeNull();
      const fraction = (at! - T0) / HOUR;
      expect(fraction).toBeGreaterThanOrEqual(0.4);
      expect(fraction).toBeLessThanOrEqual(0.6);
      expect(s.broker.status().nextRefreshAt).toBe(at);
      s.broker.stop();
    }
  });

  it('refreshes at the scheduled time with the refresh credential, then reschedules from the new token', async () => {
    const s = setup();
    s.broker.start();
    const at = s.timers.nextAt()!;
    await s.timers.advanceTo(at - 1);
    expect(s.stub.calls).toHaveLength(0);
    await s.timers.advanceTo(at);
    expect(s.stub.calls).toHaveLength(1);
    expect(s.stub.calls[0]!.url).toBe(`http://cp.test/agent/towns/${AGENT.townId}/refresh`);
    expect(s.stub.calls[0]!.authorization).toBe(`Bearer ${s.initial.refreshCredential}`);
    const fresh = s.stub.issued[0]!;
    expect(await s.broker.accessToken()).toBe(fresh.accessToken);
    const status = s.broker.status();
    expect(status).toMatchObject({ state: 'valid', refreshCount: 1, lastRefreshSource: 'pull', consecutiveFailures: 0 });
    const next = s.timers.nextAt()!;
    expect((next - at) / HOUR).toBeGreaterThanOrEqual(0.4);
    expect((next - at) / HOUR).toBeLessThanOrEqual(0.6);
    // the next pull uses the rotated credential
    await s.timers.advanceTo(next);
    expect(s.stub.calls[1]!.authorization).toBe(`Bearer ${fresh.refreshCredential}`);
  });

  it('keeps an agent alive for a week of one-hour tokens with no other traffic', async () => {
    const s = setup();
    s.broker.start();
    await s.timers.advance(7 * 24 * HOUR);
    expect(await s.broker.accessToken()).toBe(s.stub.issued.at(-1)!.accessToken);
    expect(s.stub.calls.length).toBeGreaterThanOrEqual(7 * 24 * 1.6);
    expect(s.broker.status().state).toBe('valid');
  });
});

describe('failures: serve stale, back off, then fail loudly', () => {
  it('keeps serving the still-valid token while refresh fails, never schedules past expiry, then throws credentials_expired', async () => {
    const s = setup({ ttlMs: 600_000 });
    s.stub.script.push(...Array.from({ length: 500 }, () => 'network' as const));
    s.broker.start();
    const expiresAtLocal = s.broker.status().accessTokenExpiresAt;
    while (s.clock.now() < expiresAtLocal - 1) {
      const next = s.timers.nextAt()!;
      expect(next).toBeLessThanOrEqual(expiresAtLocal);
      await s.timers.advanceTo(Math.min(next, expiresAtLocal - 1));
      expect(await s.broker.accessToken()).toBe(s.initial.accessToken);
    }
    const status = s.broker.status();
    expect(status.state).toBe('degraded');
    expect(status.consecutiveFailures).toBeGreaterThan(3);
    expect(status.lastError).toBe('control_plane_unavailable');
    const warns = s.log.lines.filter((l) => l.includes('credential.refresh_failed'));
    expect(warns.length).toBe(status.consecutiveFailures);
    expect(warns.every((l) => JSON.parse(l).level === 'warn')).toBe(true);

    await s.timers.advanceTo(expiresAtLocal);
    expect(s.broker.status().state).toBe('expired');
    await expectCode(s.broker.accessToken(), 'credentials_expired');
  });

  it.each([
    { name: '503', outcome: { status: 503 } },
    { name: '429', outcome: { status: 429 } },
    { name: '500 with an error body', outcome: { status: 500, code: 'internal' } },
    { name: 'network error', outcome: 'network' as const },
  ])('$name is transient: degraded, retried with backoff, recovers', async ({ outcome }) => {
    const s = setup({ random: () => 0.5 });
    s.stub.script.push(outcome, outcome);
    s.broker.start();
    await s.timers.runNext();
    expect(s.broker.status()).toMatchObject({ state: 'degraded', consecutiveFailures: 1 });
    expect(s.broker.status().nextRefreshAt! - s.clock.now()).toBe(500); // 0.5 · 1 s
    await s.timers.runNext();
    expect(s.broker.status()).toMatchObject({ state: 'degraded', consecutiveFailures: 2 });
    expect(s.broker.status().nextRefreshAt! - s.clock.now()).toBe(1000); // 0.5 · 2 s
    await s.timers.runNext();
    expect(s.broker.status()).toMatchObject({ state: 'valid', consecutiveFailures: 0, lastError: null });
    expect(await s.broker.accessToken()).toBe(s.stub.issued[0]!.accessToken);
  });

  /*
   * Fault 1a of docs/RELIABILITY.md in unit form: the control plane is away from 25 % to 75 % of a
   * short token's life. A failed attempt is always followed by another before the token dies
   * (the backoff never exceeds half the remaining life), so the first attempt after the outage
   * installs a new token while the old one is still valid — for every seed. With the plain
   * backoff (capped only at expiry) the retry lands at the expiry for many seeds.
   */
  it('an outage of half the token life is bridged by a refresh before expiry, for every seed', async () => {
    const ttlMs = 20_000;
    const late: number[] = [];
    for (let seed = 1; seed <= 200; seed += 1) {
      const s = setup({ ttlMs, seed });
      const outageFrom = T0 + ttlMs * 0.25;
      const outageTo = T0 + ttlMs * 0.75;
      const expiresAtLocal = s.broker.status().accessTokenExpiresAt;
      s.stub.unreachable = (now) => now >= outageFrom && now < outageTo;
      s.broker.start();
      while (s.stub.issued.length === 0) await s.timers.runNext();
      const refreshedAt = s.clock.now();
      expect(refreshedAt).toBeGreaterThanOrEqual(outageTo);
      if (refreshedAt >= expiresAtLocal) late.push(seed);
      expect(s.broker.status()).toMatchObject({ state: 'valid', consecutiveFailures: 0, unauthorizedCount: 0 });
      s.broker.stop();
    }
    expect(late, 'seeds whose first refresh after the outage came at or after expiry').toEqual([]);
  });

  it('backs off 1 s doubling to a 60 s cap between attempts (upper envelope)', async () => {
    const s = setup({ ttlMs: 24 * HOUR, random: () => 0.9999999999 });
    s.stub.script.push(...Array.from({ length: 10 }, () => 'network' as const));
    s.broker.start();
    await s.timers.runNext(); // first, scheduled attempt fails
    const gaps: number[] = [];
    for (let i = 0; i < 9; i += 1) {
      gaps.push(s.timers.nextAt()! - s.clock.now());
      await s.timers.runNext();
    }
    expect(gaps).toEqual([999, 1999, 3999, 7999, 15999, 31999, 59999, 59999, 59999]);
    expect(s.stub.calls).toHaveLength(10);
  });

  it('an expired-token caller during an outage gets credentials_expired and the broker keeps retrying; it recovers when the control plane returns', async () => {
    const s = setup({ ttlMs: 10_000 });
    s.stub.script.push(...Array.from({ length: 30 }, () => 'network' as const));
    s.broker.start();
    await s.timers.advance(20_000);
    await expectCode(s.broker.accessToken(), 'credentials_expired');
    s.stub.script.length = 0;
    await s.timers.advance(61_000);
    expect(s.broker.status().state).toBe('valid');
    expect(await s.broker.accessToken()).toBe(s.stub.issued.at(-1)!.accessToken);
  });

  it.each([{ code: 'refresh_invalid' }, { code: 'refresh_reused' }, { code: 'token_revoked' }])(
    '401 $code revokes: stop retrying, log one error, serve until expiry then fail',
    async ({ code }) => {
      const s = setup({ ttlMs: 60_000 });
      s.stub.script.push({ status: 401, code });
      s.broker.start();
      await s.timers.runNext();
      expect(s.broker.status()).toMatchObject({ state: 'revoked', lastError: code, nextRefreshAt: null });
      expect(s.timers.pending).toBe(0);
      expect(await s.broker.accessToken()).toBe(s.initial.accessToken);
      await s.timers.advance(10 * 60_000);
      expect(s.stub.calls).toHaveLength(1);
      await expectCode(s.broker.accessToken(), 'credentials_expired');
      await expectCode(s.broker.handleUnauthorized(s.initial.accessToken), code);
      expect(s.stub.calls).toHaveLength(1);
      const errors = s.log.lines.map((l) => JSON.parse(l)).filter((l) => l.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0].msg).toBe('credential.revoked');
    },
  );
});

describe('single flight', () => {
  it('100 concurrent handleUnauthorized calls with the same failed token → exactly one refresh', async () => {
    const s = setup();
    s.broker.start();
    s.stub.script.push('hold');
    const failed = await s.broker.accessToken();
    const all = Promise.all(Array.from({ length: 100 }, () => s.broker.handleUnauthorized(failed)));
    await new Promise((r) => setImmediate(r));
    expect(s.stub.calls).toHaveLength(1);
    expect(s.broker.status().state).toBe('refreshing');
    s.stub.release();
    await all;
    expect(s.stub.calls).toHaveLength(1);
    expect(await s.broker.accessToken()).toBe(s.stub.issued[0]!.accessToken);
    expect(s.broker.status()).toMatchObject({ unauthorizedCount: 100, refreshCount: 1, lastRefreshSource: 'reactive' });
    // a late report about the old token does not refresh again
    await s.broker.handleUnauthorized(failed);
    expect(s.stub.calls).toHaveLength(1);
  });

  it('100 concurrent accessToken calls on an expired token → exactly one refresh, all get the new token', async () => {
    const s = setup({ ttlMs: 60_000, scheduledRefresh: false });
    s.broker.start();
    await s.timers.advance(61_000);
    s.stub.script.push('hold');
    const all = Promise.all(Array.from({ length: 100 }, () => s.broker.accessToken()));
    await new Promise((r) => setImmediate(r));
    s.stub.release();
    const tokens = await all;
    expect(s.stub.calls).toHaveLength(1);
    expect(new Set(tokens)).toEqual(new Set([s.stub.issued[0]!.accessToken]));
  });

  it('a scheduled pull already in flight is shared by a 401 on the current token', async () => {
    const s = setup();
    s.broker.start();
    s.stub.script.push('hold');
    const at = s.timers.nextAt()!;
    const pull = s.timers.advanceTo(at);
    while (s.stub.calls.length === 0) await settle(1);
    const reactive = s.broker.handleUnauthorized(s.initial.accessToken);
    s.stub.release();
    await Promise.all([pull, reactive]);
    expect(s.stub.calls).toHaveLength(1);
  });
});

describe('reactive refresh after a 401', () => {
  it('retries a transient refresh failure once (a control plane that just restarted), then succeeds', async () => {
    const s = setup({ scheduledRefresh: false });
    s.broker.start();
    s.stub.script.push({ status: 503 });
    const failed = await s.broker.accessToken();
    const healed = s.broker.handleUnauthorized(failed);
    while (s.stub.calls.length < 1) await settle(1);
    // the second attempt waits for a jittered pause of at most 1 s
    await s.timers.advance(1_000);
    await healed;
    expect(s.stub.calls).toHaveLength(2);
    expect(await s.broker.accessToken()).toBe(s.stub.issued[0]!.accessToken);
  });

  it('gives up after the one extra attempt and never retries a refused refresh credential', async () => {
    const s = setup({ scheduledRefresh: false });
    s.broker.start();
    s.stub.script.push({ status: 503 }, { status: 503 });
    const failed = await s.broker.accessToken();
    const outcome = s.broker.handleUnauthorized(failed).then(
      () => null,
      (e: unknown) => e,
    );
    while (s.stub.calls.length < 1) await settle(1);
    await s.timers.advance(1_000);
    const err = await outcome;
    expect((err as GastownError).code).toBe('control_plane_unavailable');
    expect(s.stub.calls).toHaveLength(2);

    const t = setup();
    t.broker.start();
    t.stub.script.push({ status: 401, code: 'refresh_reused' });
    await expectCode(t.broker.handleUnauthorized(await t.broker.accessToken()), 'refresh_reused');
    expect(t.stub.calls).toHaveLength(1);
  });
});

describe('push', () => {
  it('swaps a newer grant in atomically and moves the schedule to its half-life', async () => {
    const s = setup();
    s.broker.start();
    await s.timers.advance(10 * 60_000);
    const pushed = credentials(s.clock.now(), HOUR);
    s.broker.push(pushed, null, 'message');
    expect(await s.broker.accessToken()).toBe(pushed.accessToken);
    expect(s.broker.status()).toMatchObject({ lastRefreshSource: 'message', refreshCount: 1, state: 'valid' });
    const fraction = (s.timers.nextAt()! - s.clock.now()) / HOUR;
    expect(fraction).toBeGreaterThanOrEqual(0.4);
    expect(fraction).toBeLessThanOrEqual(0.6);
    // the refresh credential is unchanged without a `refresh` part
    await s.timers.runNext();
    expect(s.stub.calls[0]!.authorization).toBe(`Bearer ${s.initial.refreshCredential}`);
  });

  it.each([
    { name: 'older gen (even if issued later)', stale: (now: number) => credentials(now + 5000, HOUR, 1) },
    { name: 'older issuedAt (same gen)', stale: (now: number) => credentials(now - 60_000, HOUR, 2) },
  ])('ignores a grant with an $name', async ({ stale }) => {
    const s = setup();
    s.broker.start();
    const newer = credentials(s.clock.now() + 1000, HOUR, 2);
    s.broker.push(newer, null, 'push');
    s.broker.push(stale(s.clock.now()), null, 'push');
    expect(await s.broker.accessToken()).toBe(newer.accessToken);
    expect(s.broker.status().refreshCount).toBe(1);
  });

  it('a push with a refresh credential replaces it and clears a revocation (reissue)', async () => {
    const s = setup({ ttlMs: 60_000 });
    s.stub.script.push({ status: 401, code: 'refresh_reused' });
    s.broker.start();
    await s.timers.runNext();
    expect(s.broker.status().state).toBe('revoked');
    const reissued = credentials(s.clock.now(), 60_000, 2);
    s.stub.gen = 2;
    s.broker.push(reissued, { refreshCredential: reissued.refreshCredential, refreshCredentialExpiresAt: reissued.refreshCredentialExpiresAt }, 'push');
    expect(s.broker.status().state).toBe('valid');
    await s.timers.runNext();
    expect(s.stub.calls.at(-1)!.authorization).toBe(`Bearer ${reissued.refreshCredential}`);
    expect(s.broker.status()).toMatchObject({ state: 'valid', lastRefreshSource: 'pull' });
  });

  it('a refresh that returns an older token than the one in hand backs off instead of spinning', async () => {
    const s = setup({ ttlMs: 60_000 });
    s.broker.start();
    s.broker.push(credentials(s.clock.now(), 60_000, 2), null, 'push');
    await s.timers.advance(10 * 60_000);
    // the stub keeps issuing gen 1: every attempt is rejected locally and backs off
    expect(s.stub.calls.length).toBeLessThan(40);
    expect(s.broker.status().state).toBe('expired');
  });
});

describe('clock skew', () => {
  it.each([
    { name: 'container 60 s ahead', skewMs: 60_000 },
    { name: 'container 60 s behind', skewMs: -60_000 },
  ])('$name: refreshes at the right moment and never takes a valid token for expired', async ({ skewMs }) => {
    const ttlMs = 5 * 60_000;
    const s = setup({ ttlMs, skewMs, random: () => 0.5 });
    s.broker.start();
    const receipt = s.clock.now();
    expect(s.timers.nextAt()! - receipt).toBe(ttlMs / 2);

    const held = setup({ ttlMs, skewMs, scheduledRefresh: false });
    held.broker.start();
    // 1.5 s before the real (server) expiry, in local time
    await held.timers.advanceTo(receipt + ttlMs - 1500);
    expect(await held.broker.accessToken()).toBe(held.initial.accessToken);
    expect(held.stub.calls).toHaveLength(0);
    expect(held.broker.status().state).toBe('valid');
    expect(held.broker.status().accessTokenExpiresAt).toBe(held.initial.accessTokenExpiresAt + skewMs - 1000);
    // past the real expiry the token is expired locally too
    await held.timers.advanceTo(receipt + ttlMs);
    expect(held.broker.status().state).toBe('expired');
  });
});

describe('refresh disabled', () => {
  it('scheduledRefresh: false → no timer; with reactiveRefresh: false too, the token expires and calls fail', async () => {
    const s = setup({ ttlMs: 60_000, scheduledRefresh: false, reactiveRefresh: false });
    s.broker.start();
    expect(s.timers.pending).toBe(0);
    expect(s.broker.status().nextRefreshAt).toBeNull();
    await s.timers.advance(59_000 - 1000 - 1);
    expect(await s.broker.accessToken()).toBe(s.initial.accessToken);
    await s.timers.advance(2000);
    expect(s.broker.status().state).toBe('expired');
    await expectCode(s.broker.accessToken(), 'credentials_expired');
    await s.broker.handleUnauthorized(s.initial.accessToken);
    expect(s.stub.calls).toHaveLength(0);
  });

  it('scheduledRefresh: false alone still refreshes on demand after expiry', async () => {
    const s = setup({ ttlMs: 60_000, scheduledRefresh: false });
    s.broker.start();
    await s.timers.advance(61_000);
    expect(s.stub.calls).toHaveLength(0);
    expect(await s.broker.accessToken()).toBe(s.stub.issued[0]!.accessToken);
    expect(s.broker.status().lastRefreshSource).toBe('reactive');
  });
});

describe('secrets', () => {
  it('registers every token and refresh credential for redaction, never logs them, forgets them on stop', async () => {
    const s = setup({ random: () => 0.5 });
    s.stub.script.push('network', { status: 503 });
    s.broker.start();
    expect(s.secrets.has(s.initial.accessToken)).toBe(true);
    expect(s.secrets.has(s.initial.refreshCredential)).toBe(true);
    for (let i = 0; i < 4; i += 1) await s.timers.runNext();
    s.broker.push(credentials(s.clock.now(), HOUR), null, 'push');
    const all = [s.initial, ...s.stub.issued];
    for (const c of all) {
      expect(s.log.text()).not.toContain(c.accessToken);
      expect(s.log.text()).not.toContain(c.refreshCredential);
    }
    const status = JSON.stringify(s.broker.status());
    for (const c of all) expect(status).not.toContain(c.accessToken);
    s.broker.stop();
    expect(s.secrets.size).toBe(0);
    await expectCode(s.broker.accessToken(), 'credentials_expired');
    expect(s.broker.status().tokenFingerprint).toMatch(/^[0-9a-f]{8}$/);
  });
});
