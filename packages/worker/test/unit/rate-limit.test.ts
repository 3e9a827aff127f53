import { GastownError, statusOf } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../src/town/rate-limit';
import { TOOL_RATE_LIMITS, ToolRateLimiter } from '../../src/town/tool-rate-limit';

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms), set: (ms: number) => void (now = ms) };
}

function codeOfCall(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof GastownError ? err.code : 'not a GastownError';
  }
}

describe('TokenBuckets', () => {
  it('allows a burst of `capacity`, then refuses with the time until one token is back', () => {
    const clock = fakeClock();
    const buckets = new TokenBuckets({ capacity: 3, windowMs: 3000 }, clock);
    expect([1, 2, 3].map(() => buckets.take('a').allowed)).toEqual([true, true, true]);
    expect(buckets.take('a')).toEqual({ allowed: false, remaining: 0, retryAfterMs: 1000 });
    clock.advance(400);
    expect(buckets.take('a')).toEqual({ allowed: false, remaining: 0, retryAfterMs: 600 });
    clock.advance(600);
    expect(buckets.take('a').allowed).toBe(true);
    expect(buckets.take('a').allowed).toBe(false);
  });

  it('refills at capacity per window and never above capacity', () => {
    const clock = fakeClock();
    const buckets = new TokenBuckets({ capacity: 2, windowMs: 1000 }, clock);
    buckets.take('a');
    buckets.take('a');
    clock.advance(10 * 1000);
    expect([1, 2, 3].map(() => buckets.take('a').allowed)).toEqual([true, true, false]);
  });

  it('keeps one bucket per key', () => {
    const clock = fakeClock();
    const buckets = new TokenBuckets({ capacity: 1, windowMs: 1000 }, clock);
    expect(buckets.take('a').allowed).toBe(true);
    expect(buckets.take('a').allowed).toBe(false);
    expect(buckets.take('b').allowed).toBe(true);
  });

  it('a clock that steps back neither refills nor drains', () => {
    const clock = fakeClock(50_000);
    const buckets = new TokenBuckets({ capacity: 1, windowMs: 1000 }, clock);
    buckets.take('a');
    clock.set(10_000);
    expect(buckets.take('a').allowed).toBe(false);
    clock.set(50_999);
    expect(buckets.take('a').allowed).toBe(false);
    clock.set(51_000);
    expect(buckets.take('a').allowed).toBe(true);
  });

  it('memory stays bounded: refilled buckets are swept once many keys exist', () => {
    const clock = fakeClock();
    const buckets = new TokenBuckets({ capacity: 1, windowMs: 1000 }, clock);
    for (let i = 0; i < 1000; i++) buckets.take(`old-${i}`);
    clock.advance(1000);
    for (let i = 0; i < 100; i++) buckets.take(`new-${i}`);
    expect(buckets.size).toBeLessThanOrEqual(1024);
    expect(buckets.take('new-1').allowed).toBe(false);
  });

  it.each([
    { name: 'zero capacity', limit: { capacity: 0, windowMs: 1000 } },
    { name: 'fractional capacity', limit: { capacity: 1.5, windowMs: 1000 } },
    { name: 'zero window', limit: { capacity: 1, windowMs: 0 } },
  ])('refuses a bad limit at construction: $name', ({ limit }) => {
    expect(codeOfCall(() => new TokenBuckets(limit, fakeClock()))).toBe('config_invalid');
  });
});

describe('ToolRateLimiter', () => {
  it('limits gt_sling, gt_sling_batch, gt_mail_send and gt_escalate by default, and nothing else', () => {
    expect(Object.keys(TOOL_RATE_LIMITS).sort()).toEqual(['escalate', 'mail_send', 'sling', 'sling_batch']);
  });

  it.each(Object.entries(TOOL_RATE_LIMITS).map(([tool, limit]) => ({ tool: tool as keyof typeof TOOL_RATE_LIMITS, limit: limit! })))(
    'gt_$tool: the default burst passes, the next call is 429 rate_limited, a window later it passes again',
    ({ tool, limit }) => {
      const clock = fakeClock();
      const limiter = new ToolRateLimiter(clock);
      for (let i = 0; i < limit.capacity; i++) expect(codeOfCall(() => limiter.enforce('ag_agent000001', tool))).toBeNull();
      let error: unknown;
      try {
        limiter.enforce('ag_agent000001', tool);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(GastownError);
      expect((error as GastownError).code).toBe('rate_limited');
      expect(statusOf('rate_limited')).toBe(429);
      expect((error as GastownError).message).toMatch(new RegExp(`^gt_${tool}: .*retry in \\d+ s$`));
      // another agent has its own bucket
      expect(codeOfCall(() => limiter.enforce('ag_agent000002', tool))).toBeNull();
      clock.advance(limit.windowMs);
      expect(codeOfCall(() => limiter.enforce('ag_agent000001', tool))).toBeNull();
    },
  );

  it('tools without a limit always pass; tools are limited separately', () => {
    const clock = fakeClock();
    const limiter = new ToolRateLimiter(clock, { sling: { capacity: 1, windowMs: 60_000 } });
    limiter.enforce('ag_agent000001', 'sling');
    expect(codeOfCall(() => limiter.enforce('ag_agent000001', 'sling'))).toBe('rate_limited');
    for (let i = 0; i < 1000; i++) limiter.enforce('ag_agent000001', 'list_beads');
    expect(codeOfCall(() => limiter.enforce('ag_agent000001', 'mail_send'))).toBeNull();
  });

  it('says when to retry: the time until one call is allowed, in whole seconds', () => {
    const clock = fakeClock();
    const limiter = new ToolRateLimiter(clock, { escalate: { capacity: 2, windowMs: 60_000 } });
    limiter.enforce('ag_agent000001', 'escalate');
    limiter.enforce('ag_agent000001', 'escalate');
    clock.advance(10_000);
    expect(() => limiter.enforce('ag_agent000001', 'escalate')).toThrow('gt_escalate: rate limit of 2 calls per 1 min reached for this agent; retry in 20 s');
  });
});
