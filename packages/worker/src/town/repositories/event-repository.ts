import type { AgentEvent, TownEvent } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';
import { parseJsonObject, toJson } from './json';

type TownEventRow = { id: number; type: string; agent_id: string | null; bead_id: string | null; data: string; at: number };

export interface NewTownEvent {
  type: string;
  agentId?: string | null;
  beadId?: string | null;
  data?: Record<string, unknown>;
}

/** The town's audit trail. Event data never holds a secret: ids, counts and fingerprints only. */
export class TownEventRepository {
  constructor(
    private readonly sql: Sql,
    private readonly townId: string,
  ) {}

  insert(event: NewTownEvent, at: number): void {
    this.sql.run`INSERT INTO town_events (type, agent_id, bead_id, data, at)
                 VALUES (${event.type}, ${event.agentId ?? null}, ${event.beadId ?? null}, ${toJson(event.data)}, ${at})`;
  }

  list(after: number, limit: number): TownEvent[] {
    return this.sql
      .all<TownEventRow>`SELECT * FROM town_events WHERE id > ${after} ORDER BY id LIMIT ${limit}`
      .map((r) => ({ id: Number(r.id), townId: this.townId, type: r.type, agentId: r.agent_id, beadId: r.bead_id, data: parseJsonObject(r.data), at: r.at }));
  }
}

/** Events reported by agents, deduplicated by (agent, client event id) so a retried batch is harmless. */
export class AgentEventRepository {
  constructor(private readonly sql: Sql) {}

  /** Returns how many events were new. */
  insertMany(agentId: string, events: readonly AgentEvent[], receivedAt: number): number {
    let accepted = 0;
    for (const e of events) {
      // RETURNING counts inserted rows exactly (rowsWritten also counts index writes)
      accepted += this.sql.all`INSERT INTO agent_events (agent_id, id, type, at, data, received_at)
                               VALUES (${agentId}, ${e.id}, ${e.type}, ${e.at}, ${toJson(e.data)}, ${receivedAt})
                               ON CONFLICT (agent_id, id) DO NOTHING RETURNING id`.length;
    }
    return accepted;
  }

  count(agentId: string): number {
    return Number(this.sql.one<{ n: number }>`SELECT COUNT(*) AS n FROM agent_events WHERE agent_id = ${agentId}`?.n ?? 0);
  }
}
