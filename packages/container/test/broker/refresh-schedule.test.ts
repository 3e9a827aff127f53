import { describe, expect, it } from 'vitest';
import {
  BACKOFF_CAP_MS,
  backoffDelayMs,
  ISSUED_AT_RESOLUTION_MS,
  nextAttemptAt,
  planCredential,
  MIN_RETRY_GAP_MS,
  refreshDelayMs,
  retryDelayMs,
} from '../../src/broker/refresh-schedule';
import { seeded } from './support';

const HOUR = 3600_000;

describe('refreshDelayMs', () => {
  it('lands within [40 %, 60 %] of the life over many seeds, and spreads across it', () => {
    const delays: number[] = [];
    for (let seed = 1; seed <= 1000; seed += 1) {
      const d = refreshDelayMs(1_000_000, 1_000_000 + HOUR, seeded(seed));
      expect(d).toBeGreaterThanOrEqual(0.4 * HOUR);
      expect(d).toBeLessThanOrEqual(0.6 * HOUR);
      delays.push(d);
    }
    // jitter is real: both tails are reached
    expect(Math.min(...delays)).toBeLessThan(0.42 * HOUR);
    expect(Math.max(...delays)).toBeGreaterThan(0.58 * HOUR);
  });

  it.each([
    { name: 'random 0 → 40 %', r: 0, expected: 0.4 * HOUR },
    { name: 'random 0.5 → 50 %', r: 0.5, expected: 0.5 * HOUR },
    { name: 'random → 1 → 60 %', r: 0.9999999999, expected: 0.6 * HOUR },
    { name: 'out-of-range random is clamped', r: 7, expected: 0.6 * HOUR },
  ])('$name', ({ r, expected }) => {
    expect(refreshDelayMs(0, HOUR, () => r)).toBeCloseTo(expected, -1);
  });

  it('is zero for a token with no life left', () => {
    expect(refreshDelayMs(5000, 4000, () => 0.5)).toBe(0);
  });
});

describe('backoffDelayMs', () => {
  it('doubles from 1 s to the 60 s cap (upper envelope)', () => {
    const top = () => 0.9999999999;
    const ceilings = Array.from({ length: 10 }, (_, attempt) => backoffDelayMs(attempt, top));
    expect(ceilings).toEqual([999, 1999, 3999, 7999, 15999, 31999, 59999, 59999, 59999, 59999]);
    expect(backoffDelayMs(1000, top)).toBe(BACKOFF_CAP_MS - 1);
  });

  it('is full jitter: uniform in [0, ceiling) over many seeds', () => {
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const ceiling = Math.min(BACKOFF_CAP_MS, 1000 * 2 ** attempt);
      const values: number[] = [];
      for (let seed = 1; seed <= 300; seed += 1) {
        const v = backoffDelayMs(attempt, seeded(seed * 31 + attempt));
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThan(ceiling);
        values.push(v);
      }
      expect(Math.min(...values)).toBeLessThan(ceiling * 0.1);
      expect(Math.max(...values)).toBeGreaterThan(ceiling * 0.9);
    }
    expect(backoffDelayMs(0, () => 0)).toBe(0);
  });
});

describe('retryDelayMs', () => {
  const top = () => 0.9999999999;
  it('is the plain backoff while the token has plenty of life left', () => {
    expect(retryDelayMs(3, HOUR, top)).toBe(backoffDelayMs(3, top));
    expect(retryDelayMs(20, HOUR, top)).toBe(BACKOFF_CAP_MS - 1);
  });

  it('never waits more than half the remaining life, nor less than the minimum gap for that bound', () => {
    expect(retryDelayMs(10, 10_000, top)).toBe(5_000);
    expect(retryDelayMs(10, 1_500, top)).toBe(MIN_RETRY_GAP_MS);
    expect(retryDelayMs(0, 1_500, () => 0.2)).toBe(200); // a shorter backoff stands
  });

  it('falls back to the plain backoff once the token has expired', () => {
    expect(retryDelayMs(10, 0, top)).toBe(backoffDelayMs(10, top));
    expect(retryDelayMs(10, -5_000, top)).toBe(backoffDelayMs(10, top));
  });

  it('keeps attempting before expiry: the attempts of a long outage grow only logarithmically denser near the end', () => {
    // one-hour token, everything refused from its half-life on: count the attempts before expiry
    const life = HOUR;
    let now = life / 2;
    const attempts: number[] = [];
    for (let attempt = 0; now < life - 1; attempt += 1) {
      attempts.push(now);
      now = Math.min(life, now + retryDelayMs(attempt, life - now, top));
    }
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    const lastMinute = attempts.filter((t) => t >= life - 60_000).length;
    expect(lastMinute).toBeLessThanOrEqual(8);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(MIN_RETRY_GAP_MS - 1);
    expect(attempts.at(-1)!).toBeGreaterThan(life - 2 * MIN_RETRY_GAP_MS);
  });
});

describe('nextAttemptAt', () => {
  it.each([
    { name: 'before expiry, a later wish is pulled back to the expiry', now: 0, desired: 500, expiry: 300, expected: 300 },
    { name: 'before expiry, an earlier wish stands', now: 0, desired: 100, expiry: 300, expected: 100 },
    { name: 'never in the past', now: 200, desired: 100, expiry: 300, expected: 200 },
    { name: 'after expiry, backoff stands', now: 400, desired: 900, expiry: 300, expected: 900 },
  ])('$name', ({ now, desired, expiry, expected }) => {
    expect(nextAttemptAt(now, desired, expiry)).toBe(expected);
  });
});

describe('planCredential (clock skew)', () => {
  it.each([
    { name: 'container 60 s ahead', skew: 60_000 },
    { name: 'container 60 s behind', skew: -60_000 },
    { name: 'no skew', skew: 0 },
  ])('$name: times are moved onto the local clock', ({ skew }) => {
    const issuedAt = 1_700_000_000_000;
    const plan = planCredential(issuedAt + skew, issuedAt, issuedAt + HOUR, () => 0.5);
    expect(plan.skewMs).toBe(skew);
    expect(plan.refreshAtLocal).toBe(issuedAt + skew + HOUR / 2);
    expect(plan.expiresAtLocal).toBe(issuedAt + skew + HOUR - ISSUED_AT_RESOLUTION_MS);
  });
});
