import { SessionSnapshotRecordSchema, summariseSnapshot, type SessionSnapshotRecord, type SessionSnapshotSummary } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';

/** An agent's stored session: where its content is (an R2 object key) and what the control plane recorded about it. */
export interface StoredSession {
  objectKey: string;
  record: SessionSnapshotRecord;
}

type SessionRow = {
  agent_id: string;
  object_key: string;
  format: string;
  runtime: string;
  session_id: string;
  saved_at: number;
  reason: string;
  turns: number;
  messages: number;
  raw_bytes: number;
  dropped_turns: number;
  bytes: number;
  sha256: string;
  stored_at: number;
};

/**
 * The `agent_sessions` table: at most one stored session snapshot per agent (the newest replaces
 * the one before; the caller deletes the replaced object from R2). No content, only the pointer.
 */
export class SessionRepository {
  constructor(private readonly sql: Sql) {}

  get(agentId: string): StoredSession | null {
    const row = this.sql.one<SessionRow>`SELECT * FROM agent_sessions WHERE agent_id = ${agentId}`;
    return row ? toStored(row) : null;
  }

  /** Store the pointer of an agent's newest snapshot; returns the object key it replaces (null: none, or the same key). */
  put(agentId: string, stored: StoredSession): string | null {
    const previous = this.sql.one<{ object_key: string }>`SELECT object_key FROM agent_sessions WHERE agent_id = ${agentId}`;
    const r = stored.record;
    this.sql.run`INSERT INTO agent_sessions (agent_id, object_key, format, runtime, session_id, saved_at, reason, turns, messages,
                   raw_bytes, dropped_turns, bytes, sha256, stored_at)
                 VALUES (${agentId}, ${stored.objectKey}, ${r.format}, ${r.runtime}, ${r.sessionId}, ${r.savedAt}, ${r.reason}, ${r.turns},
                   ${r.messages}, ${r.rawBytes}, ${r.droppedTurns}, ${r.bytes}, ${r.sha256}, ${r.storedAt})
                 ON CONFLICT (agent_id) DO UPDATE SET object_key = excluded.object_key, format = excluded.format,
                   runtime = excluded.runtime, session_id = excluded.session_id, saved_at = excluded.saved_at, reason = excluded.reason,
                   turns = excluded.turns, messages = excluded.messages, raw_bytes = excluded.raw_bytes,
                   dropped_turns = excluded.dropped_turns, bytes = excluded.bytes, sha256 = excluded.sha256, stored_at = excluded.stored_at`;
    return previous && previous.object_key !== stored.objectKey ? previous.object_key : null;
  }

  /** Forget an agent's stored session; returns the object key it pointed at (null: none stored). */
  delete(agentId: string): string | null {
    const previous = this.sql.one<{ object_key: string }>`SELECT object_key FROM agent_sessions WHERE agent_id = ${agentId}`;
    if (!previous) return null;
    this.sql.run`DELETE FROM agent_sessions WHERE agent_id = ${agentId}`;
    return previous.object_key;
  }

  /** What agent views show of one agent's stored session (null: none). */
  summary(agentId: string): SessionSnapshotSummary | null {
    const stored = this.get(agentId);
    return stored ? summariseSnapshot(stored.record) : null;
  }

  /** The summaries of every agent that has a stored session, in one query (list views). */
  summaries(): ReadonlyMap<string, SessionSnapshotSummary> {
    const rows = this.sql.all<SessionRow>`SELECT * FROM agent_sessions`;
    const out = new Map<string, SessionSnapshotSummary>();
    for (const row of rows) {
      const stored = toStored(row);
      if (stored) out.set(row.agent_id, summariseSnapshot(stored.record));
    }
    return out;
  }
}

/** A row as the record it was stored from; a row that no longer parses (never expected) reads as absent. */
function toStored(row: SessionRow): StoredSession | null {
  const parsed = SessionSnapshotRecordSchema.safeParse({
    format: row.format,
    runtime: row.runtime,
    sessionId: row.session_id,
    savedAt: Number(row.saved_at),
    reason: row.reason,
    turns: Number(row.turns),
    messages: Number(row.messages),
    rawBytes: Number(row.raw_bytes),
    droppedTurns: Number(row.dropped_turns),
    bytes: Number(row.bytes),
    sha256: row.sha256,
    storedAt: Number(row.stored_at),
  });
  return parsed.success ? { objectKey: row.object_key, record: parsed.data } : null;
}
