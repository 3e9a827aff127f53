import { GastownError, type Clock } from '@gastown/protocol';

/** A token bucket: at most `capacity` calls at once, refilled at `capacity` per `windowMs`. */
export interface RateLimit {
  capacity: number;
  windowMs: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Tokens left after this call (allowed) or now (refused). */
  remaining: number;
  /** When refused: how long until one token is back. 0 when allowed. */
  retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Buckets kept before full ones are swept out (a full bucket is the same as no bucket). */
const SWEEP_ABOVE = 1024;

/**
 * Token buckets keyed by a string (e.g. `agentId:tool`), all with one limit. Pure state plus an
 * injected clock: nothing is persisted, so the owner decides what a restart means (see
 * ToolRateLimiter). A burst of `capacity` calls is allowed; after that one call per
 * `windowMs / capacity`. Memory stays bounded: once more than SWEEP_ABOVE keys exist, the
 * buckets that have refilled completely are dropped.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refillPerMs: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
  ) {
    if (!Number.isSafeInteger(limit.capacity) || limit.capacity < 1) throw new GastownError('config_invalid', 'rate limit capacity must be a positive integer');
    if (!Number.isSafeInteger(limit.windowMs) || limit.windowMs < 1)
      throw new GastownError('config_invalid', 'rate limit window must be a positive number of ms');
    this.refillPerMs = limit.capacity / limit.windowMs;
  }

  /** Take one token for `key` if there is one. */
  take(key: string): RateDecision {
    const now = this.clock.now();
    const bucket = this.refilled(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.buckets.set(key, bucket);
      if (this.buckets.size > SWEEP_ABOVE) this.sweep(now);
      return { allowed: true, remaining: Math.floor(bucket.tokens), retryAfterMs: 0 };
    }
    this.buckets.set(key, bucket);
    return { allowed: false, remaining: 0, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.refillPerMs) };
  }

  /** How many keys hold state (tests, and a bound on memory). */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, now: number): Bucket {
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: this.limit.capacity, updatedAt: now };
    // a clock that steps back refills nothing (and takes nothing away)
    const elapsed = Math.max(0, now - bucket.updatedAt);
    return { tokens: Math.min(this.limit.capacity, bucket.tokens + elapsed * this.refillPerMs), updatedAt: Math.max(now, bucket.updatedAt) };
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + Math.max(0, now - bucket.updatedAt) * this.refillPerMs >= this.limit.capacity) this.buckets.delete(key);
    }
  }
}
