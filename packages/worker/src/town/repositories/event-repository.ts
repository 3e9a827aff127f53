import type { AgentEvent, TownEvent } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';
import { parseJsonObject, toJson } from './json';

type TownEventRow = { id: number; type: string; agent_id: string | null; bead_id: string | null; data: string; at: number };

/** What one pruning pass may delete: rows older than `olderThan` (ms) and all but the newest `keepNewest`; at most `batch` rows. */
export interface EventPruneBounds {
  olderThan: number;
  keepNewest: number;
  batch: number;
}

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
    return this.sql.all<TownEventRow>`SELECT * FROM town_events WHERE id > ${after} ORDER BY id LIMIT ${limit}`.map((r) => ({
      id: Number(r.id),
      townId: this.townId,
      type: r.type,
      agentId: r.agent_id,
      beadId: r.bead_id,
      data: parseJsonObject(r.data),
      at: r.at,
    }));
  }

  /**
   * Delete the oldest events past retention in one bounded statement; returns how many went.
   * Ids grow with `at` (both are assigned at insert), so what goes is always a prefix in id
   * order: every id below the first event young enough to keep, and every id below the newest
   * `keepNewest`. The first bound reads the expired rows plus one; the second is an index
   * lookup; the delete itself reads at most `batch` rows. A clock that stepped back only keeps
   * more (an old row after a young one waits until the young one expires).
   */
  prune(bounds: EventPruneBounds): number {
    return this.sql.all`DELETE FROM town_events WHERE id IN (
        SELECT id FROM town_events
        WHERE id < max(
          COALESCE((SELECT id FROM town_events WHERE at >= ${bounds.olderThan} ORDER BY id LIMIT 1),
                   (SELECT COALESCE(MAX(id), 0) + 1 FROM town_events)),
          (SELECT COALESCE(MAX(id), 0) FROM town_events) - ${bounds.keepNewest} + 1)
        ORDER BY id LIMIT ${bounds.batch})
      RETURNING id`.length;
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

  /**
   * As TownEventRepository.prune, over the table's rowid (insertion order) and `received_at`:
   * the deduplication keys of old events go too (a batch retried after the retention window
   * would be accepted again, harmlessly).
   */
  prune(bounds: EventPruneBounds): number {
    return this.sql.all`DELETE FROM agent_events WHERE rowid IN (
        SELECT rowid FROM agent_events
        WHERE rowid < max(
          COALESCE((SELECT rowid FROM agent_events WHERE received_at >= ${bounds.olderThan} ORDER BY rowid LIMIT 1),
                   (SELECT COALESCE(MAX(rowid), 0) + 1 FROM agent_events)),
          (SELECT COALESCE(MAX(rowid), 0) FROM agent_events) - ${bounds.keepNewest} + 1)
        ORDER BY rowid LIMIT ${bounds.batch})
      RETURNING agent_id`.length;
  }
}
