/**
 * GitTokenBroker on a manual clock: the half-life pull through a live run, the reactive
 * single-flight refresh, expiry with one event per outage, recovery, and the rules of offers.
 */
import { describe, expect, it } from 'vitest';
import { codeOf, type GitTokenGrant } from '@gastown/protocol';
import { ManualClock, ManualTimers, settle } from '@gastown/testkit/fake-control-plane/index';
import { GitTokenBroker, type GitTokenSource } from '../../src/git';
import { MAX_EXPIRY_LEEWAY_MS, planGitToken } from '../../src/git/git-token-schedule';
import { SecretRegistry } from '../../src/log';
import { captureLogger } from '../broker/support';

const RIG = 'rig_private01';
const MINUTE = 60_000;

let serial = 0;
function grant(expiresAt: number | null, rigId = RIG): GitTokenGrant {
  serial += 1;
  return { rigId, token: `opaque-git-token-${String(serial).padStart(4, '0')}-secret`, username: 'x-access-token', expiresAt };
}

/** A live run whose pulls are scripted: each pull mints a grant of `ttlMs`, or fails while `failing`, or waits while `hold` is set. */
class ScriptedSource implements GitTokenSource {
  readonly agentId = 'ag_polecat01';
  readonly pulls: number[] = [];
  readonly events: Array<{ type: string; data: Record<string, unknown> }> = [];
  failing = false;
  /** Refuse every pull before this time (local clock). */
  failUntil: number | null = null;
  hold: Promise<void> | null = null;
  constructor(
    private readonly clock: ManualClock,
    private readonly ttlMs: number | null,
  ) {}
  async gitToken(rigId: string): Promise<GitTokenGrant> {
    this.pulls.push(this.clock.now());
    if (this.hold) await this.hold;
    if (this.failing || (this.failUntil !== null && this.clock.now() < this.failUntil)) throw new Error('control plane unreachable');
    return grant(this.ttlMs === null ? null : this.clock.now() + this.ttlMs, rigId);
  }
  emit(type: string, data: Record<string, unknown>): void {
    this.events.push({ type, data });
  }
  types(): string[] {
    return this.events.map((e) => e.type);
  }
}

function setup(options: { refresh?: boolean; ttlMs?: number | null; random?: () => number } = {}) {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const secrets = new SecretRegistry();
  const log = captureLogger(secrets);
  const broker = new GitTokenBroker({
    rigId: RIG,
    clock,
    timers,
    random: options.random ?? (() => 0.5),
    logger: log.logger,
    secrets,
    ...(options.refresh !== undefined ? { refresh: options.refresh } : {}),
  });
  const ttlMs = options.ttlMs === undefined ? 10 * MINUTE : options.ttlMs;
  const source = new ScriptedSource(clock, ttlMs);
  return { clock, timers, secrets, log, broker, source, ttlMs };
}

describe('planGitToken', () => {
  it.each([
    { name: 'ten-minute token: pull at 35 %, usable until 90 %', life: 10 * MINUTE, random: 0.5, refreshAt: 3.5 * MINUTE, usableUntil: 9 * MINUTE },
    { name: 'jitter low end (30 %)', life: 10 * MINUTE, random: 0, refreshAt: 3 * MINUTE, usableUntil: 9 * MINUTE },
    { name: 'jitter high end (40 %)', life: 10 * MINUTE, random: 1, refreshAt: 4 * MINUTE, usableUntil: 9 * MINUTE },
    {
      name: 'hour token: the leeway is capped at a minute',
      life: 60 * MINUTE,
      random: 0.5,
      refreshAt: 21 * MINUTE,
      usableUntil: 60 * MINUTE - MAX_EXPIRY_LEEWAY_MS,
    },
    { name: 'three-second token', life: 3_000, random: 0.5, refreshAt: 1_050, usableUntil: 2_700 },
  ])('$name', ({ life, random, refreshAt, usableUntil }) => {
    expect(planGitToken(0, life, () => random)).toEqual({ receivedAt: 0, refreshAt, usableUntil });
  });

  it('a token without expiry (a PAT) is never pulled and always usable', () => {
    expect(planGitToken(5, null, () => 0.5)).toEqual({ receivedAt: 5, refreshAt: null, usableUntil: null });
  });
});

describe('GitTokenBroker', () => {
  it('the token endpoint refusing for 40 % of a token’s life, starting at the latest pull: a fresh token before the usable window closes', async () => {
    const life = 10_000;
    const { clock, timers, broker, source } = setup({ random: () => 0.999999, ttlMs: life });
    const t0 = clock.now();
    broker.offer(grant(t0 + life));
    broker.attach(source);
    // the jitter's late end: the pull at 40 %; the endpoint refuses from there until 80 %
    const pullAt = timers.nextAt()!;
    expect(pullAt - t0).toBeLessThanOrEqual(0.4 * life);
    source.failUntil = pullAt + 0.4 * life;
    for (let t = clock.now(); t < t0 + 0.9 * life; t += 100) {
      await timers.advanceTo(t);
      // every moment up to the end of the usable window, git can have a token
      await expect(broker.credential()).resolves.toMatchObject({ username: 'x-access-token' });
    }
    expect(broker.status()).toMatchObject({ state: 'valid' });
    expect(source.pulls.at(-1)!).toBeGreaterThanOrEqual(pullAt + 0.4 * life);
    expect(source.pulls.at(-1)!).toBeLessThan(t0 + 0.9 * life);
  });

  it('pulls at a third of the life through a live run, again at a third of the new life, and only while a run is attached', async () => {
    const { clock, timers, broker, source } = setup();
    const t0 = clock.now();
    broker.offer(grant(t0 + 10 * MINUTE));
    // no live run: nothing to pull through, no timer
    expect(timers.pending).toBe(0);
    const detach = broker.attach(source);
    expect(timers.nextAt()).toBe(t0 + 3.5 * MINUTE);
    await timers.advance(3.5 * MINUTE);
    expect(source.pulls).toEqual([t0 + 3.5 * MINUTE]);
    expect(broker.status()).toMatchObject({ state: 'valid', refreshCount: 1, expiresAt: t0 + 13.5 * MINUTE });
    expect(timers.nextAt()).toBe(t0 + 7 * MINUTE);
    detach();
    expect(timers.pending).toBe(0);
    await timers.advance(30 * MINUTE);
    expect(source.pulls).toHaveLength(1);
    // a run attaching after the refresh point: the pull is due at once
    broker.attach(source);
    expect(timers.nextAt()).toBe(clock.now());
  });

  it('serves the token in hand without asking anyone while it is usable', async () => {
    const { clock, broker, source } = setup();
    const offered = grant(clock.now() + 10 * MINUTE);
    broker.offer(offered);
    broker.attach(source);
    await expect(broker.credential()).resolves.toMatchObject({ username: 'x-access-token', password: offered.token });
    expect(source.pulls).toEqual([]);
  });

  it('reactive: ten refusals of the same token, ten requests and the timer share ONE pull; the refused token is never served again', async () => {
    const { clock, timers, broker, source } = setup();
    const refused = grant(clock.now() + 10 * MINUTE);
    broker.offer(refused);
    broker.attach(source);
    let release!: () => void;
    source.hold = new Promise<void>((resolve) => (release = resolve));
    const rejects = Array.from({ length: 10 }, () => broker.reject(refused.token));
    const creds = Array.from({ length: 10 }, () => broker.credential());
    // the timer the refusal armed fires while the pull is out: it joins it too
    const firing = timers.advance(0);
    await settle();
    expect(source.pulls).toHaveLength(1);
    release();
    await firing;
    await Promise.all(rejects);
    const served = await Promise.all(creds);
    expect(source.pulls).toHaveLength(1);
    expect(new Set(served.map((c) => c.password)).size).toBe(1);
    expect(served[0]!.password).not.toBe(refused.token);
  });

  it('a refusal of a token already replaced pulls nothing (the caller just retries)', async () => {
    const { clock, broker, source } = setup();
    const old = grant(clock.now() + 10 * MINUTE);
    broker.offer(old);
    broker.attach(source);
    broker.offer(grant(clock.now() + 20 * MINUTE));
    await broker.reject(old.token);
    expect(source.pulls).toEqual([]);
    expect(broker.status().state).toBe('valid');
  });

  it('past expiry with no fresh token: git_auth_failed for every command, ONE git.credentials_expired; recovery when a pull works again', async () => {
    const { clock, timers, broker, source } = setup({ ttlMs: 10 * MINUTE });
    broker.offer(grant(clock.now() + 10 * MINUTE));
    broker.attach(source);
    source.failing = true;
    // the half-life pull and its retries fail while the token still serves
    await timers.advance(8 * MINUTE);
    expect(source.pulls.length).toBeGreaterThan(1);
    await expect(broker.credential()).resolves.toBeTruthy();
    expect(source.types()).toEqual([]);
    // past its usable life
    await timers.advance(2 * MINUTE);
    const errors = await Promise.all([1, 2, 3].map(() => broker.credential().catch((e: unknown) => e)));
    expect(errors.map((e) => codeOf(e, 'internal'))).toEqual(['git_auth_failed', 'git_auth_failed', 'git_auth_failed']);
    await timers.advance(5 * MINUTE); // timer retries keep failing
    await clock.advance(2_000);
    await expect(broker.credential()).rejects.toMatchObject({ code: 'git_auth_failed' });
    expect(source.types()).toEqual(['git.credentials_expired']);
    expect(source.events[0]!.data).toMatchObject({ rigId: RIG, reason: 'expired', lastError: 'internal' });
    expect(broker.status().state).toBe('expired');

    source.failing = false;
    clock.advance(2_000);
    await expect(broker.credential()).resolves.toBeTruthy();
    expect(source.types()).toEqual(['git.credentials_expired', 'git.credentials_recovered']);
    expect(broker.status()).toMatchObject({ state: 'valid', consecutiveFailures: 0, lastError: null });

    // a second outage is a second event
    source.failing = true;
    await timers.advance(11 * MINUTE);
    await expect(broker.credential()).rejects.toMatchObject({ code: 'git_auth_failed' });
    expect(source.types()).toEqual(['git.credentials_expired', 'git.credentials_recovered', 'git.credentials_expired']);
  });

  it('after a failed pull a command does not start another one within a second', async () => {
    const { clock, broker, source } = setup();
    broker.offer(grant(clock.now() + 1_000));
    broker.attach(source);
    source.failing = true;
    clock.advance(1_000);
    await expect(broker.credential()).rejects.toMatchObject({ code: 'git_auth_failed' });
    await expect(broker.credential()).rejects.toMatchObject({ code: 'git_auth_failed' });
    expect(source.pulls).toHaveLength(1);
    clock.advance(1_000);
    await expect(broker.credential()).rejects.toMatchObject({ code: 'git_auth_failed' });
    expect(source.pulls).toHaveLength(2);
  });

  it('refresh off: never pulls; after expiry git_auth_failed and one event', async () => {
    const { clock, timers, broker, source } = setup({ refresh: false });
    broker.offer(grant(clock.now() + 10 * MINUTE));
    broker.attach(source);
    expect(timers.pending).toBe(0);
    clock.advance(10 * MINUTE);
    await expect(broker.credential()).rejects.toMatchObject({ code: 'git_auth_failed', message: expect.stringContaining('refresh is off') });
    await expect(broker.credential()).rejects.toMatchObject({ code: 'git_auth_failed' });
    expect(source.pulls).toEqual([]);
    expect(source.types()).toEqual(['git.credentials_expired']);
  });

  it('no token and no live run: git_auth_failed, nothing pulled, the event waits for a run to carry it', async () => {
    const { broker, source } = setup();
    await expect(broker.credential()).rejects.toMatchObject({ code: 'git_auth_failed' });
    expect(source.events).toEqual([]);
    broker.attach(source);
    source.failing = true;
    await expect(broker.credential()).rejects.toMatchObject({ code: 'git_auth_failed' });
    expect(source.types()).toEqual(['git.credentials_expired']);
    expect(source.events[0]!.data).toMatchObject({ reason: 'missing' });
  });

  it('a PAT (no expiry) is never pulled on a schedule; a refusal replaces it', async () => {
    const { clock, timers, broker, source } = setup({ ttlMs: null });
    const pat = grant(null);
    broker.offer(pat);
    broker.attach(source);
    expect(timers.pending).toBe(0);
    clock.advance(365 * 24 * 60 * MINUTE);
    await expect(broker.credential()).resolves.toMatchObject({ password: pat.token });
    await broker.reject(pat.token);
    expect(source.pulls).toHaveLength(1);
    await expect(broker.credential()).resolves.not.toMatchObject({ password: pat.token });
  });

  it.each([
    { name: 'the same token', make: (held: GitTokenGrant) => ({ ...held }), installed: false },
    { name: 'a token that expires sooner', make: (held: GitTokenGrant) => grant(held.expiresAt! - MINUTE), installed: false },
    { name: 'a token that lives longer', make: (held: GitTokenGrant) => grant(held.expiresAt! + MINUTE), installed: true },
    { name: "another rig's token", make: (held: GitTokenGrant) => grant(held.expiresAt! + MINUTE, 'rig_another1'), installed: false },
    {
      name: 'a token git cannot carry (newline)',
      make: (held: GitTokenGrant) => ({ ...grant(held.expiresAt! + MINUTE), token: 'abc\npassword=x' }),
      installed: false,
    },
  ])('offer: $name', ({ make, installed }) => {
    const { clock, broker } = setup();
    const held = grant(clock.now() + 10 * MINUTE);
    broker.offer(held);
    expect(broker.offer(make(held))).toBe(installed);
  });

  it('an offer replaces an expired token even if it expires sooner than the dead one did', () => {
    const { clock, broker } = setup();
    broker.offer(grant(clock.now() + 10 * MINUTE));
    clock.advance(10 * MINUTE);
    expect(broker.offer(grant(clock.now() + MINUTE))).toBe(true);
  });

  it('every token is registered for redaction; superseded ones are dropped after two; stop forgets them all', async () => {
    const { clock, timers, secrets, log, broker, source } = setup();
    const first = grant(clock.now() + 10 * MINUTE);
    broker.offer(first);
    broker.attach(source);
    expect(secrets.has(first.token)).toBe(true);
    for (let i = 0; i < 4; i++) await timers.runNext();
    expect(source.pulls).toHaveLength(4);
    expect(secrets.has(first.token)).toBe(false);
    expect(secrets.size).toBe(3);
    // logs carry fingerprints only
    expect(log.text()).not.toContain('opaque-git-token-');
    expect(log.text()).toContain('git.token_refreshed');
    broker.stop();
    expect(secrets.size).toBe(0);
    expect(timers.pending).toBe(0);
    await expect(broker.credential()).rejects.toMatchObject({ code: 'git_auth_failed' });
  });
});
