/**
 * The pool of Unix uids agent runs get (uids base … base+count-1). Pure bookkeeping: which
 * uids are leased. Whether a uid still has processes is the caller's scan (proc-table.ts),
 * passed in, so a uid whose last process has not died yet is never handed out again.
 */
import { SandboxError } from './errors';

export class UidPool {
  readonly base: number;
  readonly count: number;
  readonly #leased = new Set<number>();
  /** Round robin: a released uid is reused as late as possible. */
  #next = 0;

  constructor(base: number, count: number) {
    if (!Number.isInteger(base) || !Number.isInteger(count) || base < 1 || count < 1 || base + count > 2 ** 31 - 1) {
      throw new SandboxError('sandbox_spec_invalid', 'invalid uid pool range');
    }
    this.base = base;
    this.count = count;
  }

  contains(uid: number): boolean {
    return uid >= this.base && uid < this.base + this.count;
  }

  get leasedCount(): number {
    return this.#leased.size;
  }

  isLeased(uid: number): boolean {
    return this.#leased.has(uid);
  }

  /** Lease the next uid that is neither leased nor in `busy` (uids that still have processes). */
  acquire(busy: ReadonlySet<number>): number {
    for (let i = 0; i < this.count; i++) {
      const uid = this.base + ((this.#next + i) % this.count);
      if (this.#leased.has(uid) || busy.has(uid)) continue;
      this.#leased.add(uid);
      this.#next = (uid - this.base + 1) % this.count;
      return uid;
    }
    throw new SandboxError('sandbox_pool_exhausted', `no free agent uid: ${this.#leased.size} of ${this.count} leased, ${busy.size} still have processes`);
  }

  /** Give a uid back. The caller has swept its processes; one that survived keeps it out through `busy`. */
  release(uid: number): void {
    this.#leased.delete(uid);
  }
}
