import { describe, expect, it } from 'vitest';
import { KEEP_AWAKE_INTERVAL_MS, keepAwakeDue } from '../../src/town/services/keep-awake-service';

describe('keepAwakeDue', () => {
  it.each([
    { name: 'never renewed', lastAt: null, now: 1_000, sleepAfterMs: 1_800_000, due: true },
    { name: 'within the minute (long sleepAfter)', lastAt: 0, now: KEEP_AWAKE_INTERVAL_MS - 1, sleepAfterMs: 1_800_000, due: false },
    { name: 'a minute later', lastAt: 0, now: KEEP_AWAKE_INTERVAL_MS, sleepAfterMs: 1_800_000, due: true },
    { name: 'a quarter of a short sleepAfter', lastAt: 0, now: 5_000, sleepAfterMs: 20_000, due: true },
    { name: 'under a quarter of a short sleepAfter', lastAt: 0, now: 4_999, sleepAfterMs: 20_000, due: false },
    { name: 'a clock that went back', lastAt: 10_000, now: 5_000, sleepAfterMs: 1_800_000, due: true },
  ])('$name → $due', ({ lastAt, now, sleepAfterMs, due }) => {
    expect(keepAwakeDue(lastAt, now, sleepAfterMs)).toBe(due);
  });
});
