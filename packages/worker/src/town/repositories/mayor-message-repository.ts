import type { MayorMessage } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';

type MayorMessageRow = { id: string; text: string; created_at: number; delivered_at: number | null };

export class MayorMessageRepository {
  constructor(
    private readonly sql: Sql,
    private readonly townId: string,
  ) {}

  insert(id: string, text: string, now: number): MayorMessage {
    this.sql.run`INSERT INTO mayor_messages (id, text, created_at, delivered_at) VALUES (${id}, ${text}, ${now}, NULL)`;
    return { id, townId: this.townId, text, createdAt: now, deliveredAt: null };
  }

  markDelivered(id: string, now: number): void {
    this.sql.run`UPDATE mayor_messages SET delivered_at = ${now} WHERE id = ${id}`;
  }

  get(id: string): MayorMessage | null {
    const row = this.sql.one<MayorMessageRow>`SELECT * FROM mayor_messages WHERE id = ${id}`;
    return row ? this.toMessage(row) : null;
  }

  list(limit: number): MayorMessage[] {
    return this.sql
      .all<MayorMessageRow>`SELECT * FROM (SELECT * FROM mayor_messages ORDER BY created_at DESC, id DESC LIMIT ${limit}) ORDER BY created_at, id`.map((r) =>
      this.toMessage(r),
    );
  }

  /** Messages not yet handed to a running mayor (for delivery on the next start). */
  undelivered(): MayorMessage[] {
    return this.sql.all<MayorMessageRow>`SELECT * FROM mayor_messages WHERE delivered_at IS NULL ORDER BY created_at, id`.map((r) => this.toMessage(r));
  }

  private toMessage(row: MayorMessageRow): MayorMessage {
    return { id: row.id, townId: this.townId, text: row.text, createdAt: row.created_at, deliveredAt: row.delivered_at };
  }
}
