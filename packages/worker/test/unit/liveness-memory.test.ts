import { describe, expect, it } from 'vitest';
import { LivenessMemory, livenessFlushMs, reconcilerHeardAt } from '../../src/town/liveness-memory';

const S = 1_800_000_000_000; // stored heartbeat
const F = 60_000;

describe('reconcilerHeardAt: the restart rule', () => {
  it('within one object (memory newer than the object start): the newest heartbeat, unchanged', () => {
    expect(reconcilerHeardAt(S + 30_000, S, null, S - 1_000, F)).toBe(S + 30_000);
    expect(reconcilerHeardAt(S, S, S - 5_000, S - 10_000, F)).toBe(S);
  });

  it('after a restart: stored raised to min(stored + F, restart), never past either', () => {
    expect(reconcilerHeardAt(S, S, null, S + 20_000, F)).toBe(S + 20_000);
    expect(reconcilerHeardAt(S, S, null, S + 500_000, F)).toBe(S + F);
  });

  it('a run never heard in storage keeps its time (the start grace applies as before)', () => {
    expect(reconcilerHeardAt(null, null, S, S + 500_000, F)).toBeNull();
    expect(reconcilerHeardAt(S - 1, S - 1, S, S + 500_000, F)).toBe(S - 1);
  });

  it('F is one interval less than the liveness window', () => {
    expect(livenessFlushMs({ heartbeatIntervalMs: 30_000, missedHeartbeats: 3 })).toBe(60_000);
    expect(livenessFlushMs({ heartbeatIntervalMs: 30_000, missedHeartbeats: 1 })).toBe(0);
  });
});

describe('LivenessMemory', () => {
  it('keeps the newest time per agent until forgotten or cleared', () => {
    const m = new LivenessMemory(S);
    m.hear('a', S + 2, 'ci_1');
    m.hear('a', S + 1, 'ci_1');
    expect(m.heardAt('a')).toBe(S + 2);
    m.hear('b', S + 3, 'ci_1');
    expect(m.entries()).toHaveLength(2);
    m.forget('a');
    expect(m.heardAt('a')).toBeNull();
    m.clear();
    expect(m.size).toBe(0);
  });
});
