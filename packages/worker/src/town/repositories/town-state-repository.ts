import type { Sql } from '../../storage/sql';

/**
 * Keys of the `town_state` table. The spend cap's: the period start (ms, as a string) of the last
 * 80 % warning, and of the period the town is capped in (absent: not capped). `containerStoppedAt`:
 * when the production container last told the town it stopped (TownContainerDO.onStop).
 */
export type TownStateKey = 'controlPlaneUrl' | 'spendWarnedPeriodStart' | 'spendCappedPeriodStart' | 'containerStoppedAt';

/** How many container instance ids are remembered (the newest matter; older ones only for history). */
export const MAX_REMEMBERED_INSTANCES = 20;

/** Small per-town facts (the control-plane URL) and the container instances seen in heartbeats. */
export class TownStateRepository {
  constructor(private readonly sql: Sql) {}

  get(key: TownStateKey): string | null {
    return this.sql.one<{ value: string }>`SELECT value FROM town_state WHERE key = ${key}`?.value ?? null;
  }

  set(key: TownStateKey, value: string): void {
    this.sql.run`INSERT INTO town_state (key, value) VALUES (${key}, ${value})
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
  }

  delete(key: TownStateKey): void {
    this.sql.run`DELETE FROM town_state WHERE key = ${key}`;
  }

  /**
   * Record a heartbeat's container instance. Returns true when the id is new (a container started).
   * A late heartbeat from an older instance never makes it the newest again: newest = first seen last.
   */
  seeInstance(instanceId: string, now: number): boolean {
    const known = this.sql.one<{ instance_id: string }>`SELECT instance_id FROM container_instances WHERE instance_id = ${instanceId}`;
    if (known) {
      this.sql.run`UPDATE container_instances SET last_seen_at = ${now} WHERE instance_id = ${instanceId}`;
      return false;
    }
    const newest = this.latestInstance();
    // strictly increasing first-seen times, so "newest" is well defined even within one millisecond
    const firstSeen = newest && newest.firstSeenAt >= now ? newest.firstSeenAt + 1 : now;
    this.sql.run`INSERT INTO container_instances (instance_id, first_seen_at, last_seen_at) VALUES (${instanceId}, ${firstSeen}, ${now})`;
    this.sql.run`DELETE FROM container_instances WHERE instance_id NOT IN
                   (SELECT instance_id FROM container_instances ORDER BY first_seen_at DESC LIMIT ${MAX_REMEMBERED_INSTANCES})`;
    return true;
  }

  /** A known instance was heard at `at` (heartbeat times flushed from memory); an instance no longer remembered stays forgotten. */
  touchInstance(instanceId: string, at: number): void {
    this.sql.run`UPDATE container_instances SET last_seen_at = MAX(last_seen_at, ${at}) WHERE instance_id = ${instanceId}`;
  }

  /** The container instance first seen last (the live one, if any is), with when it was last heard. */
  latestInstance(): { instanceId: string; firstSeenAt: number; lastSeenAt: number } | null {
    const row = this.sql.one<{ instance_id: string; first_seen_at: number; last_seen_at: number }>`
      SELECT instance_id, first_seen_at, last_seen_at FROM container_instances ORDER BY first_seen_at DESC LIMIT 1`;
    return row ? { instanceId: row.instance_id, firstSeenAt: row.first_seen_at, lastSeenAt: row.last_seen_at } : null;
  }
}
