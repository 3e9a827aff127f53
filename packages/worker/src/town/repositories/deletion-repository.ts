import type { Sql } from '../../storage/sql';

/** The rows a deletion removes that no other repository deletes: a rig's own rows; the town's session object keys. */
export class DeletionRepository {
  constructor(private readonly sql: Sql) {}

  /** The rig row, its write-only secrets and its webhook deliveries. Its beads and agents stay as history. */
  deleteRig(rigId: string): boolean {
    this.sql.run`DELETE FROM rig_secrets WHERE rig_id = ${rigId}`;
    this.sql.run`DELETE FROM webhook_deliveries WHERE rig_id = ${rigId}`;
    return this.sql.run`DELETE FROM rigs WHERE id = ${rigId}` > 0;
  }

  /** Every stored session snapshot's object key (R2), for the worker to delete with the town. */
  sessionObjectKeys(): string[] {
    return this.sql.all<{ object_key: string }>`SELECT object_key FROM agent_sessions ORDER BY agent_id`.map((r) => r.object_key);
  }
}
