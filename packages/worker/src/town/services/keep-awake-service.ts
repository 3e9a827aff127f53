/**
 * Keeps a town's container awake while one of its agents works.
 *
 * A container sleeps after `sleepAfter` without *inbound* requests, and a working polecat makes
 * only outbound ones (model requests, tool calls, heartbeats): without this, a task longer than
 * sleepAfter would be cut off by the sleep. So a heartbeat that says "working" restarts the
 * container's sleepAfter window — through TownContainerDO's `renewActivityTimeout()`, which
 * sends the container nothing — at most once per KEEP_AWAKE_INTERVAL (or a quarter of sleepAfter
 * when that is shorter). Heartbeats of idle or waiting agents never do, so an idle town still
 * sleeps on time. Best effort: a failure is logged and retried at the next working heartbeat;
 * the heartbeat itself never fails for it.
 */
import { codeOf, type AgentStatus } from '@gastown/protocol';
import type { TownContext } from './context';
import type { TownService } from './town-service';

/** Longest pause between two renewals while an agent works. */
export const KEEP_AWAKE_INTERVAL_MS = 60_000;

/** Whether a working heartbeat at `now` should renew the window last renewed at `lastAt`. */
export function keepAwakeDue(lastAt: number | null, now: number, sleepAfterMs: number): boolean {
  if (lastAt === null || now < lastAt) return true;
  return now - lastAt >= Math.min(KEEP_AWAKE_INTERVAL_MS, sleepAfterMs / 4);
}

export class KeepAwakeService {
  /** In memory on purpose: after an eviction the next working heartbeat simply renews again. */
  private lastRenewedAt: number | null = null;

  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
  ) {}

  /** After a heartbeat that put the agent in `status`. */
  async afterHeartbeat(status: AgentStatus): Promise<void> {
    if (status !== 'working') return;
    const now = this.ctx.clock.now();
    if (!keepAwakeDue(this.lastRenewedAt, now, this.town.town().config.sleepAfterSeconds * 1000)) return;
    this.lastRenewedAt = now;
    try {
      await this.ctx.container.keepAwake();
    } catch (err) {
      this.lastRenewedAt = null;
      this.ctx.logger.warn({ msg: 'container keep-awake failed', townId: this.ctx.townId, code: codeOf(err, 'upstream_failed') });
    }
  }
}
