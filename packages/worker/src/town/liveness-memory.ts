/**
 * Heartbeat freshness held in the TownDO's memory (issue 17).
 *
 * A heartbeat that changes nothing but the time (same live status, runtime state, session,
 * container instance — the newest —, credential report and isolation as stored, and not the first
 * of its run) is remembered here instead of written to SQLite, as long as the stored time is at
 * most `livenessFlushMs` old; every other heartbeat is written through (lifecycle-service.ts). The
 * agent repository overlays these times on the rows it reads, so within one object every reader
 * (views, the reconciler, re-arming) sees what a written heartbeat would have stored. The alarm
 * writes them to storage before each tick (ReconcilerService.flushLiveness).
 *
 * Restart rule. After the object restarts (deploy, eviction, crash) this memory is gone, and the
 * stored heartbeat S of an agent may be older than its real last one H. Because a heartbeat is
 * only held in memory while S is at most F = livenessFlushMs old, H ≤ S + F; and H ≤ R, the moment
 * the new object started. So the reconciler judges an agent heard in its current run as heard at
 * max(S, min(S + F, R)) (`reconcilerHeardAt`) — never earlier than H: a live agent is not declared
 * lost because memory was lost — and a lost agent is detected by its deadline
 * max(S, min(S + F, R)) + missedHeartbeats × interval ≤ H + F + missedHeartbeats × interval.
 * Without a restart the memory holds H itself and the deadline is H + missedHeartbeats × interval,
 * as before. Restarts cannot postpone it further: S + F is fixed by storage, not by the restart.
 *
 * Lives on the TownDO instance (TownDeps.liveness), never at module level: one map per object.
 */
export interface HeardInMemory {
  /** The newest heartbeat time not yet in storage. */
  at: number;
  /** The container instance that sent it (its `last_seen_at` is flushed with it). */
  containerInstanceId: string;
}

export class LivenessMemory {
  readonly #heard = new Map<string, HeardInMemory>();

  /** @param startedAt when this object (and so this memory) started: the floor of every stored heartbeat of a current run */
  constructor(readonly startedAt: number) {}

  /** A heartbeat that changed nothing but the time. */
  hear(agentId: string, at: number, containerInstanceId: string): void {
    const known = this.#heard.get(agentId);
    if (!known || at >= known.at) this.#heard.set(agentId, { at, containerInstanceId });
  }

  /** The newest unflushed heartbeat time of an agent (null: none since the last flush or write). */
  heardAt(agentId: string): number | null {
    return this.#heard.get(agentId)?.at ?? null;
  }

  /** A heartbeat written through (or any write that stored a newer time): nothing left to flush for it. */
  forget(agentId: string): void {
    this.#heard.delete(agentId);
  }

  /** Everything held (a copy): written to storage, then `clear()`ed in the same synchronous step. */
  entries(): Array<[string, HeardInMemory]> {
    return [...this.#heard.entries()];
  }

  clear(): void {
    this.#heard.clear();
  }

  get size(): number {
    return this.#heard.size;
  }
}

/**
 * How stale the stored heartbeat of a live agent may be while newer ones stay in memory: one
 * interval less than the liveness window, so at the default 30 s × 3 two heartbeats in three are
 * held in memory and the third is written, and a restart costs at most F of detection time.
 */
export function livenessFlushMs(settings: { heartbeatIntervalMs: number; missedHeartbeats: number }): number {
  return Math.max(0, settings.missedHeartbeats - 1) * settings.heartbeatIntervalMs;
}

/**
 * The heartbeat time the reconciler judges liveness by (see the restart rule above). `heardAt` is
 * the newest known (stored or in memory), `storedAt` the stored one. A run never heard in storage
 * keeps its time (its first heartbeat is always written, so nothing of it was in memory). Pure.
 */
export function reconcilerHeardAt(
  heardAt: number | null,
  storedAt: number | null,
  dispatchedAt: number | null,
  startedAt: number,
  flushMs: number,
): number | null {
  if (heardAt === null || storedAt === null) return heardAt;
  if (dispatchedAt !== null && storedAt < dispatchedAt) return heardAt;
  return Math.max(heardAt, Math.min(storedAt + flushMs, startedAt));
}
