import { CredentialStatusSchema, IsolationLevelSchema, type AgentRole, type AgentStatus, type CredentialStatus, type IsolationLevel } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';
import type { HeardInMemory, LivenessMemory } from '../liveness-memory';
import { keysetBounds, toPage, type Page, type PageRequest } from '../list-page';
import { parseJsonValue } from './json';

/** An agent row as stored: identity, life-cycle and credential metadata (never a secret). */
export interface AgentRecord {
  id: string;
  rigId: string | null;
  role: AgentRole;
  name: string;
  status: AgentStatus;
  beadId: string | null;
  statusLine: string | null;
  gen: number;
  createdAt: number;
  updatedAt: number;
  /** The newest heartbeat: stored, or held in the TownDO's memory (liveness-memory.ts). */
  lastHeartbeatAt: number | null;
  /** The heartbeat time as stored in SQLite (≤ lastHeartbeatAt): what survives a restart of the object (absent: lastHeartbeatAt). */
  storedHeartbeatAt?: number | null;
  containerInstanceId: string | null;
  runtimeState: string | null;
  sessionId: string | null;
  tokenJti: string | null;
  tokenIssuedAt: number | null;
  tokenExpiresAt: number | null;
  lastRefreshAt: number | null;
  refreshCount: number;
  credentialReported: CredentialStatus | null;
  credentialReportedAt: number | null;
  /** When the current generation was dispatched (null: never dispatched). */
  dispatchedAt: number | null;
  /** The run's sandbox level as last reported by a heartbeat (null: never reported). */
  isolation: IsolationLevel | null;
}

type AgentRow = {
  id: string;
  rig_id: string | null;
  role: string;
  name: string;
  status: string;
  bead_id: string | null;
  status_line: string | null;
  gen: number;
  created_at: number;
  updated_at: number;
  last_heartbeat_at: number | null;
  container_instance_id: string | null;
  runtime_state: string | null;
  session_id: string | null;
  token_jti: string | null;
  token_issued_at: number | null;
  token_expires_at: number | null;
  last_refresh_at: number | null;
  refresh_count: number;
  credential_reported: string | null;
  credential_reported_at: number | null;
  dispatched_at: number | null;
  isolation: string | null;
};

export interface NewAgent {
  id: string;
  rigId: string | null;
  role: AgentRole;
  name: string;
  status: AgentStatus;
  beadId: string | null;
  createdAt: number;
}

/** Token metadata recorded when a credential is issued or refreshed. */
export interface TokenMetadata {
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

export interface HeartbeatUpdate {
  at: number;
  containerInstanceId: string;
  runtimeState: string;
  sessionId: string | null;
  status: AgentStatus;
  credential: CredentialStatus;
  /** Absent from containers older than the sandbox: the stored level is kept. */
  isolation?: IsolationLevel;
}

/** Agent statuses of a running (or starting) run: the reconciler watches their liveness. */
const LIVE_STATUSES = ['starting', 'working', 'waiting'] as const;

export class AgentRepository {
  /** @param liveness heartbeat times held in memory, overlaid on every row read (absent: rows as stored) */
  constructor(
    private readonly sql: Sql,
    private readonly liveness: LivenessMemory | null = null,
  ) {}

  list(): AgentRecord[] {
    return this.sql.all<AgentRow>`SELECT * FROM agents ORDER BY created_at, id`.map((r) => this.toRecord(r));
  }

  /**
   * The agents the reconciler can act on or needs to look up, in `list()` order: every live one
   * (status starting/working/waiting), every refinery that is not stopped (`refineryOf` picks the
   * newest), and the ids given (agents named by active beads, with an operation in flight, with live
   * credentials). Any other row yields no action and no wake-up, so the reconciler decides the
   * same as over `list()` — while an old town's idle rows are never read (indexed by status/role).
   */
  listForReconcile(ids: Iterable<string>): AgentRecord[] {
    const rows = new Map<string, AgentRow>();
    for (const status of LIVE_STATUSES) for (const r of this.sql.all<AgentRow>`SELECT * FROM agents WHERE status = ${status}`) rows.set(r.id, r);
    for (const r of this.sql.all<AgentRow>`SELECT * FROM agents WHERE role = 'refinery' AND status != 'stopped'`) rows.set(r.id, r);
    for (const id of ids) {
      if (rows.has(id)) continue;
      const r = this.sql.one<AgentRow>`SELECT * FROM agents WHERE id = ${id}`;
      if (r) rows.set(id, r);
    }
    // ORDER BY created_at, id (BINARY collation: code-unit order, as `<` on strings)
    return [...rows.values()].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((r) => this.toRecord(r));
  }

  /** One page of `list()` (same order). */
  page(request: PageRequest): Page<AgentRecord> {
    const { afterAt, afterId, fetch } = keysetBounds(request);
    const rows = this.sql.all<AgentRow>`SELECT * FROM agents
      WHERE (${afterAt} IS NULL OR created_at > ${afterAt} OR (created_at = ${afterAt} AND id > ${afterId}))
      ORDER BY created_at, id LIMIT ${fetch}`;
    return toPage(
      rows,
      request.limit,
      (r) => ({ createdAt: r.created_at, id: r.id }),
      (r) => this.toRecord(r),
    );
  }

  get(id: string): AgentRecord | null {
    const row = this.sql.one<AgentRow>`SELECT * FROM agents WHERE id = ${id}`;
    return row ? this.toRecord(row) : null;
  }

  mayor(): AgentRecord | null {
    const row = this.sql.one<AgentRow>`SELECT * FROM agents WHERE role = 'mayor'`;
    return row ? this.toRecord(row) : null;
  }

  insert(agent: NewAgent): void {
    this.sql.run`INSERT INTO agents (id, rig_id, role, name, status, bead_id, gen, created_at, updated_at)
                 VALUES (${agent.id}, ${agent.rigId}, ${agent.role}, ${agent.name}, ${agent.status}, ${agent.beadId}, 0,
                         ${agent.createdAt}, ${agent.createdAt})`;
  }

  /** Bump the generation (dispatch, stop); returns the new generation. */
  bumpGen(id: string, now: number): number {
    this.sql.run`UPDATE agents SET gen = gen + 1, updated_at = ${now} WHERE id = ${id}`;
    return Number(this.sql.one<{ gen: number }>`SELECT gen FROM agents WHERE id = ${id}`?.gen ?? 0);
  }

  setStatus(id: string, status: AgentStatus, now: number): void {
    this.sql.run`UPDATE agents SET status = ${status}, updated_at = ${now} WHERE id = ${id}`;
  }

  /**
   * A new generation was dispatched: liveness restarts from now, and the container instance of the
   * previous run is forgotten (the new run's first heartbeat names its own).
   */
  markDispatched(id: string, now: number): void {
    this.sql.run`UPDATE agents SET dispatched_at = ${now}, container_instance_id = NULL, updated_at = ${now} WHERE id = ${id}`;
    this.liveness?.forget(id);
  }

  setBead(id: string, beadId: string | null, now: number): void {
    this.sql.run`UPDATE agents SET bead_id = ${beadId}, updated_at = ${now} WHERE id = ${id}`;
  }

  setStatusLine(id: string, statusLine: string, now: number): void {
    this.sql.run`UPDATE agents SET status_line = ${statusLine}, updated_at = ${now} WHERE id = ${id}`;
  }

  /** A new credential family was issued: fresh token metadata, refresh count restarts. */
  recordIssued(id: string, token: TokenMetadata, now: number): void {
    this.sql.run`UPDATE agents SET token_jti = ${token.jti}, token_issued_at = ${token.issuedAt},
                   token_expires_at = ${token.expiresAt}, last_refresh_at = NULL, refresh_count = 0, updated_at = ${now}
                 WHERE id = ${id}`;
  }

  /** A refresh rotated the family: new token metadata, refresh count + 1. */
  recordRefreshed(id: string, token: TokenMetadata, now: number): void {
    this.sql.run`UPDATE agents SET token_jti = ${token.jti}, token_issued_at = ${token.issuedAt},
                   token_expires_at = ${token.expiresAt}, last_refresh_at = ${now}, refresh_count = refresh_count + 1,
                   updated_at = ${now}
                 WHERE id = ${id}`;
  }

  /** A fresh access token in the current family (warm send, push): token metadata only. */
  recordAccessMinted(id: string, token: TokenMetadata, now: number): void {
    this.sql.run`UPDATE agents SET token_jti = ${token.jti}, token_issued_at = ${token.issuedAt},
                   token_expires_at = ${token.expiresAt}, updated_at = ${now}
                 WHERE id = ${id}`;
  }

  recordHeartbeat(id: string, hb: HeartbeatUpdate): void {
    this.sql.run`UPDATE agents SET last_heartbeat_at = ${hb.at}, container_instance_id = ${hb.containerInstanceId},
                   runtime_state = ${hb.runtimeState}, session_id = ${hb.sessionId}, status = ${hb.status},
                   credential_reported = ${JSON.stringify(hb.credential)}, credential_reported_at = ${hb.at},
                   isolation = COALESCE(${hb.isolation ?? null}, isolation), updated_at = ${hb.at}
                 WHERE id = ${id}`;
    this.liveness?.forget(id); // stored now, and newer than anything held
  }

  /**
   * Heartbeat times held in memory reach storage (the alarm, before each tick): the times a
   * written heartbeat would have stored, never moved back (a write-through since is newer).
   */
  flushHeard(entries: ReadonlyArray<readonly [string, HeardInMemory]>): void {
    for (const [id, { at }] of entries) {
      this.sql.run`UPDATE agents SET last_heartbeat_at = MAX(COALESCE(last_heartbeat_at, 0), ${at}),
                     credential_reported_at = MAX(COALESCE(credential_reported_at, 0), ${at}), updated_at = MAX(updated_at, ${at})
                   WHERE id = ${id}`;
    }
  }

  /** A stored row, with the newer heartbeat time held in memory (if any) where a write would have put it. */
  private toRecord(row: AgentRow): AgentRecord {
    const record = toRecord(row);
    const heardAt = this.liveness?.heardAt(row.id) ?? null;
    if (heardAt === null || (record.lastHeartbeatAt !== null && heardAt <= record.lastHeartbeatAt)) return record;
    return {
      ...record,
      lastHeartbeatAt: heardAt,
      credentialReportedAt: Math.max(record.credentialReportedAt ?? 0, heardAt),
      updatedAt: Math.max(record.updatedAt, heardAt),
    };
  }
}

function toRecord(row: AgentRow): AgentRecord {
  // NULL columns skip zod: a failed safeParse builds a ZodError (~30 µs), and every agent request
  // maps every agent row through here (reconciler re-arm): 100 agents never heard from cost ~3 ms
  const reported = row.credential_reported === null ? null : CredentialStatusSchema.safeParse(parseJsonValue(row.credential_reported));
  const isolation = row.isolation === null ? null : IsolationLevelSchema.safeParse(row.isolation);
  return {
    id: row.id,
    rigId: row.rig_id,
    role: row.role as AgentRole,
    name: row.name,
    status: row.status as AgentStatus,
    beadId: row.bead_id,
    statusLine: row.status_line,
    gen: Number(row.gen),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastHeartbeatAt: row.last_heartbeat_at,
    storedHeartbeatAt: row.last_heartbeat_at,
    containerInstanceId: row.container_instance_id,
    runtimeState: row.runtime_state,
    sessionId: row.session_id,
    tokenJti: row.token_jti,
    tokenIssuedAt: row.token_issued_at,
    tokenExpiresAt: row.token_expires_at,
    lastRefreshAt: row.last_refresh_at,
    refreshCount: Number(row.refresh_count),
    credentialReported: reported?.success ? reported.data : null,
    credentialReportedAt: row.credential_reported_at,
    dispatchedAt: row.dispatched_at ?? null,
    isolation: isolation?.success ? isolation.data : null,
  };
}
