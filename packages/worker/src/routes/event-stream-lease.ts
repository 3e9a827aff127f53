import type { Clock } from '@gastown/protocol';
import type { RegistryRpc } from '../http/directory';
import { unwrap, type Logger } from '../town/rpc-result';

/** A stream's lease lives this long past its last renewal (how long a dead stream keeps its slot). */
export const STREAM_LEASE_TTL_MS = 30_000;
/** A live stream renews its lease this often (well inside the TTL). */
export const STREAM_LEASE_RENEW_MS = 10_000;

/**
 * One event stream's slot in the user's cap (RegistryDO leases). Taken before the stream starts;
 * renewed from the stream's poll loop; released when the stream closes. A client that goes away
 * does not always let the stream run its `cancel` (workerd drops a pending pull with the
 * request), so the lease is short and kept alive by renewal: a stream that stops polling stops
 * renewing and frees its slot within STREAM_LEASE_TTL_MS.
 */
export class EventStreamLease {
  private released = false;
  private renewedAt: number;

  private constructor(
    private readonly registry: RegistryRpc,
    private readonly leaseId: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.renewedAt = clock.now();
  }

  /** Take a slot: throws 429 `rate_limited` when the user holds `maxStreams` already. */
  static async acquire(registry: RegistryRpc, maxStreams: number, clock: Clock, logger: Logger): Promise<EventStreamLease> {
    const { leaseId } = unwrap(await registry.openEventStream(STREAM_LEASE_TTL_MS, maxStreams));
    return new EventStreamLease(registry, leaseId, clock, logger);
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** Renew when due; false when the lease is gone (expired: the stream should end). */
  async keepAlive(): Promise<boolean> {
    if (this.released) return false;
    const now = this.clock.now();
    if (now - this.renewedAt < STREAM_LEASE_RENEW_MS) return true;
    const result = await this.registry.renewEventStream(this.leaseId, STREAM_LEASE_TTL_MS);
    if (!result.ok) {
      // the registry is unreachable: keep streaming, try again on the next poll
      this.logger.warn({ msg: 'event stream lease not renewed', code: result.error.code });
      return true;
    }
    this.renewedAt = now;
    return result.value;
  }

  /** Give the slot back (idempotent; a failure is logged: the lease expires by itself). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const result = await this.registry.closeEventStream(this.leaseId).catch(() => null);
    if (!result?.ok) this.logger.warn({ msg: 'event stream lease not released', code: result?.ok === false ? result.error.code : 'internal' });
  }
}
