import { GastownError, type Bead, type BeadStatus, type BeadType } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';
import { keysetBounds, toPage, type Page, type PageRequest } from '../list-page';
import { parseJsonObject, toJson } from './json';

type BeadRow = {
  id: string;
  rig_id: string | null;
  type: string;
  status: string;
  title: string;
  body: string;
  assignee_id: string | null;
  metadata: string;
  attempts: number;
  created_at: number;
  updated_at: number;
};

export interface NewBead {
  id: string;
  rigId: string | null;
  type: BeadType;
  status: BeadStatus;
  title: string;
  body: string;
  assigneeId: string | null;
  metadata: Record<string, unknown>;
  now: number;
}

/** Fields a state transition may change; omitted fields stay as they are. */
export interface BeadPatch {
  status?: BeadStatus;
  assigneeId?: string | null;
  metadata?: Record<string, unknown>;
  attempts?: number;
}

export interface BeadFilter {
  status?: BeadStatus;
  rigId?: string;
  type?: BeadType;
}

export class BeadRepository {
  constructor(
    private readonly sql: Sql,
    private readonly townId: string,
  ) {}

  list(filter: BeadFilter = {}): Bead[] {
    const status = filter.status ?? null;
    const rigId = filter.rigId ?? null;
    const type = filter.type ?? null;
    return this.sql.all<BeadRow>`SELECT * FROM beads
                    WHERE (${status} IS NULL OR status = ${status})
                      AND (${rigId} IS NULL OR rig_id = ${rigId})
                      AND (${type} IS NULL OR type = ${type})
                    ORDER BY created_at, id`.map((r) => this.toBead(r));
  }

  /** One page of `list({ status })` (same order). */
  page(filter: { status?: BeadStatus }, request: PageRequest): Page<Bead> {
    const status = filter.status ?? null;
    const { afterAt, afterId, fetch } = keysetBounds(request);
    const rows = this.sql.all<BeadRow>`SELECT * FROM beads
      WHERE (${status} IS NULL OR status = ${status})
        AND (${afterAt} IS NULL OR created_at > ${afterAt} OR (created_at = ${afterAt} AND id > ${afterId}))
      ORDER BY created_at, id LIMIT ${fetch}`;
    return toPage(
      rows,
      request.limit,
      (r) => ({ createdAt: r.created_at, id: r.id }),
      (r) => this.toBead(r),
    );
  }

  /** Issues and merge requests that are not settled (open or in progress): what the reconciler looks at. */
  listActiveWork(): Bead[] {
    return this.sql.all<BeadRow>`SELECT * FROM beads
                    WHERE status IN ('open', 'in_progress') AND type IN ('issue', 'merge_request')
                    ORDER BY created_at, id`.map((r) => this.toBead(r));
  }

  get(id: string): Bead | null {
    const row = this.sql.one<BeadRow>`SELECT * FROM beads WHERE id = ${id}`;
    return row ? this.toBead(row) : null;
  }

  insert(bead: NewBead): Bead {
    this.sql.run`INSERT INTO beads (id, rig_id, type, status, title, body, assignee_id, metadata, attempts, created_at, updated_at)
                 VALUES (${bead.id}, ${bead.rigId}, ${bead.type}, ${bead.status}, ${bead.title}, ${bead.body}, ${bead.assigneeId},
                         ${toJson(bead.metadata)}, 0, ${bead.now}, ${bead.now})`;
    return this.mustGet(bead.id);
  }

  update(id: string, patch: BeadPatch, now: number): Bead {
    const current = this.mustGet(id);
    const next = {
      status: patch.status ?? current.status,
      assigneeId: patch.assigneeId === undefined ? current.assigneeId : patch.assigneeId,
      metadata: patch.metadata ?? current.metadata,
      attempts: patch.attempts ?? current.attempts,
    };
    this.sql.run`UPDATE beads SET status = ${next.status}, assignee_id = ${next.assigneeId}, metadata = ${toJson(next.metadata)},
                   attempts = ${next.attempts}, updated_at = ${now}
                 WHERE id = ${id}`;
    return this.mustGet(id);
  }

  /** The open merge request for a source bead and branch, if one exists (makes `done` idempotent). */
  findOpenMergeRequest(sourceBeadId: string, branch: string): Bead | null {
    return (
      this.list({ type: 'merge_request' }).find(
        (b) => (b.status === 'open' || b.status === 'in_progress') && b.metadata.sourceBeadId === sourceBeadId && b.metadata.branch === branch,
      ) ?? null
    );
  }

  private mustGet(id: string): Bead {
    const bead = this.get(id);
    if (!bead) throw new GastownError('internal', `bead ${id} vanished`);
    return bead;
  }

  private toBead(row: BeadRow): Bead {
    return {
      id: row.id,
      townId: this.townId,
      rigId: row.rig_id,
      type: row.type as BeadType,
      status: row.status as BeadStatus,
      title: row.title,
      body: row.body,
      assigneeId: row.assignee_id,
      metadata: parseJsonObject(row.metadata),
      attempts: Number(row.attempts),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}
