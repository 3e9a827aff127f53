import type { AgentRole, ModelUsageRecord, UsageGroup, UsageRow, UsageTotals } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';

/** One measured model call, with who made it (the agent record at the time) and what it cost. */
export interface NewUsageRow {
  /** The `model.usage` event's id: a retried batch inserts nothing twice. */
  id: string;
  /** The container's time of the call. */
  at: number;
  receivedAt: number;
  agentId: string;
  role: AgentRole;
  rigId: string | null;
  beadId: string | null;
  record: ModelUsageRecord;
  /** Null: the model has no price (counted as an unpriced call). */
  costMicros: number | null;
}

type AggregateRow = {
  calls: number;
  errors: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cache_read_tokens: number | null;
  cache_write_tokens: number | null;
  cost_micros: number | null;
  unpriced_calls: number | null;
};

type GroupRow = AggregateRow & { k: string; label: string | null };

/** ms epoch bounds of a query; `to` exclusive. */
export interface UsageRange {
  from: number | null;
  to: number | null;
}

/** Past any real time: the open upper bound of a range (so the `at` index serves every query). */
const END_OF_TIME = Number.MAX_SAFE_INTEGER;

/** The `model_usage` table: inserted per call, read as sums (SQL GROUP BY). */
export class UsageRepository {
  constructor(private readonly sql: Sql) {}

  /** Returns false when the id is already there (a retried event). */
  insert(row: NewUsageRow): boolean {
    const r = row.record;
    return (
      this.sql.all`INSERT INTO model_usage (id, at, received_at, agent_id, role, rig_id, bead_id, model, provider_kind,
                     input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, latency_ms, streamed, status, error_code, cost_micros)
                   VALUES (${row.id}, ${row.at}, ${row.receivedAt}, ${row.agentId}, ${row.role}, ${row.rigId}, ${row.beadId}, ${r.model}, ${r.providerKind},
                     ${r.inputTokens}, ${r.outputTokens}, ${r.cacheReadTokens}, ${r.cacheWriteTokens}, ${r.latencyMs}, ${r.streamed ? 1 : 0},
                     ${r.status}, ${r.errorCode}, ${row.costMicros})
                   ON CONFLICT (id) DO NOTHING RETURNING id`.length > 0
    );
  }

  /** What the town spent (priced calls) in calls received since `since` (ms): one SUM over model_usage_by_received. */
  spentSince(since: number): number {
    return Number(this.sql.one<{ spent: number | null }>`SELECT SUM(cost_micros) AS spent FROM model_usage WHERE received_at >= ${since}`?.spent ?? 0);
  }

  /** Sums over every call in the range (by the container's `at`). */
  totals(range: UsageRange): UsageTotals {
    const row = this.sql.one<AggregateRow>`
      SELECT COUNT(*) AS calls,
             SUM(CASE WHEN status BETWEEN 200 AND 299 THEN 0 ELSE 1 END) AS errors,
             SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
             SUM(cache_read_tokens) AS cache_read_tokens, SUM(cache_write_tokens) AS cache_write_tokens,
             SUM(cost_micros) AS cost_micros, SUM(CASE WHEN cost_micros IS NULL THEN 1 ELSE 0 END) AS unpriced_calls
      FROM model_usage WHERE at >= ${range.from ?? 0} AND at < ${range.to ?? END_OF_TIME}`;
    return toTotals(row);
  }

  /**
   * Sums per group over the range, with a label where there is one (a bead's title, an agent's or
   * a rig's name). `day` is the UTC date of `at`; a call without a bead or rig has key `none`.
   * Sorted by cost, then calls, descending; `day` by day ascending. The group is a bound value that
   * picks the key expression, so one statement serves every group.
   */
  groups(by: UsageGroup, range: UsageRange): UsageRow[] {
    const rows = this.sql.all<GroupRow>`
      SELECT g.*,
             CASE ${by}
               WHEN 'bead' THEN (SELECT title FROM beads WHERE id = g.k)
               WHEN 'agent' THEN (SELECT name FROM agents WHERE id = g.k)
               WHEN 'rig' THEN (SELECT name FROM rigs WHERE id = g.k)
               ELSE NULL END AS label
      FROM (
        SELECT CASE ${by}
                 WHEN 'bead' THEN COALESCE(bead_id, 'none')
                 WHEN 'role' THEN role
                 WHEN 'model' THEN model
                 WHEN 'day' THEN strftime('%Y-%m-%d', at / 1000, 'unixepoch')
                 WHEN 'rig' THEN COALESCE(rig_id, 'none')
                 ELSE agent_id END AS k,
               COUNT(*) AS calls,
               SUM(CASE WHEN status BETWEEN 200 AND 299 THEN 0 ELSE 1 END) AS errors,
               SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
               SUM(cache_read_tokens) AS cache_read_tokens, SUM(cache_write_tokens) AS cache_write_tokens,
               SUM(cost_micros) AS cost_micros, SUM(CASE WHEN cost_micros IS NULL THEN 1 ELSE 0 END) AS unpriced_calls
        FROM model_usage WHERE at >= ${range.from ?? 0} AND at < ${range.to ?? END_OF_TIME}
        GROUP BY k
      ) AS g
      ORDER BY CASE WHEN ${by} = 'day' THEN g.k END ASC, COALESCE(g.cost_micros, 0) DESC, g.calls DESC, g.k ASC`;
    return rows.map((r) => ({ key: String(r.k), label: r.label === null ? null : String(r.label), ...toTotals(r) }));
  }
}

function toTotals(row: AggregateRow | null): UsageTotals {
  const n = (v: number | null | undefined) => Number(v ?? 0);
  const costMicros = n(row?.cost_micros);
  return {
    calls: n(row?.calls),
    errors: n(row?.errors),
    inputTokens: n(row?.input_tokens),
    outputTokens: n(row?.output_tokens),
    cacheReadTokens: n(row?.cache_read_tokens),
    cacheWriteTokens: n(row?.cache_write_tokens),
    costMicros,
    costUsd: costMicros / 1_000_000,
    unpricedCalls: n(row?.unpriced_calls),
  };
}
