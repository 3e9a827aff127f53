import { CLOCK_TOLERANCE_SECONDS } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../src/auth';
import { DAY, HOUR, makeConfig, MINUTE, subject, withTownStorage } from './support/fixtures';
import { simulateAgent, type ConfigChange, type SimulationOptions, type SimulationResult } from './support/simulation';

const TTL_SECONDS = 8 * 3600;
const TEN_MINUTES = 10 * MINUTE;
const WEEK = 7 * DAY;

function simulate(
  name: string,
  options: Omit<SimulationOptions, 'sql' | 'subject' | 'ttlSeconds' | 'durationMs' | 'toolCallEveryMs'> & { initialConfig: AuthConfig },
): Promise<SimulationResult> {
  return withTownStorage(`simulation-${name}`, (sql) =>
    simulateAgent({ sql, subject: subject(), ttlSeconds: TTL_SECONDS, durationMs: WEEK, toolCallEveryMs: TEN_MINUTES, ...options }),
  );
}

function summary(name: string, r: SimulationResult): string {
  const codes = [...new Set(r.failures.map((f) => f.code))].join(',') || '-';
  return `[sim] ${name}: toolCalls=${r.toolCalls} refreshes=${r.refreshes} failures=${r.failures.length} (${codes}) finalKid=${r.finalKid}`;
}

describe('7-day simulation, AGENT_TOKEN_TTL 8 h, a tool call every 10 min', () => {
  const config = makeConfig(['k1', 'k2'], 'k2', TTL_SECONDS);

  it('with broker refresh at 50 % ± 10 %: zero failures for a week', async () => {
    const r = await simulate('refresh', { refresh: true, initialConfig: config, seed: 42 });
    console.log(summary('refresh on', r));
    expect(r.failures).toEqual([]);
    expect(r.events).toEqual([]);
    expect(r.toolCalls).toBe(WEEK / TEN_MINUTES + 1);
    // one refresh per ~4 h (3.6–4.4 h) over 168 h
    expect(r.refreshes).toBeGreaterThanOrEqual(38);
    expect(r.refreshes).toBeLessThanOrEqual(47);
  });

  it('the same agent without refresh fails at 8 h + tolerance with token_expired', async () => {
    const r = await simulate('no-refresh', { refresh: false, initialConfig: config, seed: 42 });
    console.log(summary('refresh off', r), `firstFailureAt=${((r.firstFailure?.atMs ?? 0) / HOUR).toFixed(3)} h`);
    expect(r.refreshes).toBe(0);
    const first = r.firstFailure!;
    expect(first).toMatchObject({ op: 'tool', code: 'token_expired' });
    const expiredAt = (TTL_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000;
    expect(first.atMs).toBeGreaterThanOrEqual(expiredAt);
    expect(first.atMs).toBeLessThanOrEqual(expiredAt + TEN_MINUTES);
    // every call before that succeeded, every call after it fails
    expect(r.toolCalls - r.failures.length).toBe(first.atMs / TEN_MINUTES);
    expect(r.failures.every((f) => f.code === 'token_expired')).toBe(true);
  });
});

describe('signing-key rotation during the 7-day run (each deploy rolls out over 5 h)', () => {
  const ROLLOUT = 5 * HOUR;
  const WAIT = TTL_SECONDS * 1000 + CLOCK_TOLERANCE_SECONDS * 1000;
  const before = makeConfig(['k1', 'k2'], 'k2', TTL_SECONDS);
  const added = makeConfig(['k1', 'k2', 'k3'], 'k2', TTL_SECONDS);
  const switched = makeConfig(['k1', 'k2', 'k3'], 'k3', TTL_SECONDS);
  const removed = makeConfig(['k1', 'k3'], 'k3', TTL_SECONDS);

  it('the documented procedure (add k3 → switch active → wait one TTL + tolerance → remove k2): zero failures', async () => {
    const addAt = 2 * DAY;
    const switchAt = addAt + ROLLOUT + HOUR;
    const removeAt = switchAt + ROLLOUT + WAIT;
    const changes: ConfigChange[] = [
      { atMs: addAt, config: added },
      { atMs: switchAt, config: switched },
      { atMs: removeAt, config: removed },
    ];
    for (const seed of [1, 2, 3]) {
      const r = await simulate(`rotation-${seed}`, { refresh: true, initialConfig: before, changes, rolloutMs: ROLLOUT, seed });
      console.log(summary(`rotation seed ${seed}`, r));
      expect(r.failures).toEqual([]);
      expect(r.finalKid).toBe('k3');
      expect(r.refreshes).toBeGreaterThanOrEqual(38);
    }
  });

  it('shortcut: add and switch in one deploy → old instances cannot verify new tokens (token_unknown_key)', async () => {
    const changes: ConfigChange[] = [{ atMs: 2 * DAY, config: switched }];
    const r = await simulate('shortcut-add-switch', { refresh: true, initialConfig: before, changes, rolloutMs: ROLLOUT, seed: 1 });
    console.log(summary('add+switch at once', r));
    expect(r.failures.length).toBeGreaterThan(0);
    expect(new Set(r.failures.map((f) => f.code))).toEqual(new Set(['token_unknown_key']));
  });

  it('shortcut: switch and remove the old key at once (no wait) → the token in hand dies (token_unknown_key)', async () => {
    const changes: ConfigChange[] = [
      { atMs: 2 * DAY, config: added },
      { atMs: 2 * DAY + ROLLOUT + HOUR, config: removed },
    ];
    const r = await simulate('shortcut-no-wait', { refresh: true, initialConfig: before, changes, rolloutMs: 0, seed: 1 });
    console.log(summary('switch+remove at once', r));
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures[0]).toMatchObject({ op: 'tool', code: 'token_unknown_key' });
  });
});
