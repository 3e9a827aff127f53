/**
 * A hand-driven clock and timer queue for tests that mix fake time with real I/O.
 * Unlike global fake timers it leaves node:http and undici alone: only code that was
 * handed these objects sees fake time.
 *
 * `advance(ms)` fires due timers in order, moving the clock to each one's due time; when a
 * callback returns a promise (the broker's refresh, a heartbeat, a flush) it is awaited, so
 * real HTTP started by a timer finishes before time moves on.
 */
import type { Clock } from '@gastown/protocol';

export class ManualClock implements Clock {
  #now: number;
  constructor(startMs = Date.UTC(2026, 0, 1, 12, 0, 0)) {
    this.#now = startMs;
  }
  now(): number {
    return this.#now;
  }
  set(ms: number): void {
    this.#now = ms;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

interface Pending {
  id: number;
  at: number;
  fn: () => unknown;
}

/** Lets the event loop run real I/O callbacks and microtasks a few times over. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class ManualTimers {
  readonly clock: ManualClock;
  #seq = 0;
  #queue: Pending[] = [];

  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    this.#seq += 1;
    const id = this.#seq;
    this.#queue.push({ id, at: this.clock.now() + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#queue = this.#queue.filter((p) => p.id !== handle);
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Due time of the earliest timer, or null. */
  nextAt(): number | null {
    const next = this.#earliest();
    return next === null ? null : next.at;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way (including ones they schedule). */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.clock.now() + ms);
  }

  async advanceTo(targetMs: number): Promise<void> {
    await settle();
    for (;;) {
      const next = this.#earliest();
      if (next === null || next.at > targetMs) break;
      this.#queue = this.#queue.filter((p) => p.id !== next.id);
      if (next.at > this.clock.now()) this.clock.set(next.at);
      const result = next.fn();
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        await (result as Promise<unknown>).catch(() => undefined);
      }
      await settle();
    }
    if (targetMs > this.clock.now()) this.clock.set(targetMs);
    await settle();
  }

  /** Fire the earliest timer (moving time to it); false when none is pending. */
  async runNext(): Promise<boolean> {
    const next = this.#earliest();
    if (next === null) return false;
    await this.advanceTo(Math.max(next.at, this.clock.now()));
    return true;
  }

  #earliest(): Pending | null {
    let best: Pending | null = null;
    for (const p of this.#queue) if (best === null || p.at < best.at || (p.at === best.at && p.id < best.id)) best = p;
    return best;
  }
}
