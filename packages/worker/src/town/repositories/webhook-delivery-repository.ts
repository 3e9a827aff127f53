import type { Sql } from '../../storage/sql';

/** Provider webhook deliveries already applied, by delivery id (a redelivery changes nothing twice). */
export class WebhookDeliveryRepository {
  constructor(private readonly sql: Sql) {}

  seen(deliveryId: string): boolean {
    return this.sql.one`SELECT delivery_id FROM webhook_deliveries WHERE delivery_id = ${deliveryId}` !== null;
  }

  record(deliveryId: string, rigId: string, event: string, now: number): void {
    this.sql.run`INSERT INTO webhook_deliveries (delivery_id, rig_id, event, received_at) VALUES (${deliveryId}, ${rigId}, ${event}, ${now})
                 ON CONFLICT (delivery_id) DO NOTHING`;
  }

  /** Forget deliveries received before `before` (bounded: at most `limit` rows per call). */
  prune(before: number, limit = 500): number {
    return this.sql.run`DELETE FROM webhook_deliveries WHERE delivery_id IN
                          (SELECT delivery_id FROM webhook_deliveries WHERE received_at < ${before} ORDER BY received_at LIMIT ${limit})`;
  }
}
