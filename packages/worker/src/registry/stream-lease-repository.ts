import type { Sql } from '../storage/sql';

/**
 * Leases of a user's open event streams (one row per stream). A live stream renews its lease;
 * a lease expires by itself, so a stream that died without releasing it (client gone, isolate
 * gone) stops counting one TTL after its last renewal.
 */
export class StreamLeaseRepository {
  constructor(private readonly sql: Sql) {}

  /** Drop expired leases, then count the live ones. */
  active(now: number): number {
    this.sql.run`DELETE FROM stream_leases WHERE expires_at <= ${now}`;
    return Number(this.sql.one<{ n: number }>`SELECT COUNT(*) AS n FROM stream_leases`?.n ?? 0);
  }

  insert(id: string, expiresAt: number): void {
    this.sql.run`INSERT INTO stream_leases (id, expires_at) VALUES (${id}, ${expiresAt})`;
  }

  /** Extend a lease that has not expired; false when it is gone. */
  renew(id: string, now: number, expiresAt: number): boolean {
    return this.sql.all`UPDATE stream_leases SET expires_at = ${expiresAt} WHERE id = ${id} AND expires_at > ${now} RETURNING id`.length === 1;
  }

  delete(id: string): void {
    this.sql.run`DELETE FROM stream_leases WHERE id = ${id}`;
  }
}
