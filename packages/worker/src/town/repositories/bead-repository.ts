import { BEAD_LIMITS, GastownError, type Bead, type BeadStatus, type BeadType } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';
import { keysetBounds, toPage, type Page, type PageRequest } from '../list-page';
import { parseJsonObject, parseJsonValue, toJson } from './json';

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
  priority: number;
  labels: string;
  depends_on: string;
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
  /** Default BEAD_LIMITS.defaultPriority. */
  priority?: number;
  labels?: readonly string[];
  dependsOn?: readonly string[];
}

/** Fields a state transition may change; omitted fields stay as they are. */
export interface BeadPatch {
  status?: BeadStatus;
  assigneeId?: string | null;
  metadata?: Record<string, unknown>;
  attempts?: number;
}

/** What a user or the mayor edits on an issue bead; omitted fields stay as they are. */
export interface BeadFieldsPatch {
  title?: string;
  body?: string;
  rigId?: string;
  priority?: number;
  labels?: readonly string[];
  dependsOn?: readonly string[];
}

export interface BeadFilter {
  status?: BeadStatus;
  rigId?: string;
  type?: BeadType;
}

/** The user list's filters: each one given must match. */
export interface BeadPageFilter {
  status?: BeadStatus;
  rigId?: string;
  label?: string;
  assigneeId?: string;
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

  /** One page of the beads matching `filter`, in `list` order (created_at, id). */
  page(filter: BeadPageFilter, request: PageRequest): Page<Bead> {
    const status = filter.status ?? null;
    const rigId = filter.rigId ?? null;
    const label = filter.label ?? null;
    const assigneeId = filter.assigneeId ?? null;
    const { afterAt, afterId, fetch } = keysetBounds(request);
    const rows = this.sql.all<BeadRow>`SELECT * FROM beads
      WHERE (${status} IS NULL OR status = ${status})
        AND (${rigId} IS NULL OR rig_id = ${rigId})
        AND (${assigneeId} IS NULL OR assignee_id = ${assigneeId})
        AND (${label} IS NULL OR EXISTS (SELECT 1 FROM json_each(beads.labels) WHERE json_each.value = ${label}))
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
    const priority = bead.priority ?? BEAD_LIMITS.defaultPriority;
    const labels = JSON.stringify(bead.labels ?? []);
    const dependsOn = JSON.stringify(bead.dependsOn ?? []);
    this.sql
      .run`INSERT INTO beads (id, rig_id, type, status, title, body, assignee_id, metadata, attempts, created_at, updated_at, priority, labels, depends_on)
                 VALUES (${bead.id}, ${bead.rigId}, ${bead.type}, ${bead.status}, ${bead.title}, ${bead.body}, ${bead.assigneeId},
                         ${toJson(bead.metadata)}, 0, ${bead.now}, ${bead.now}, ${priority}, ${labels}, ${dependsOn})`;
    return this.mustGet(bead.id);
  }

  /** Change what a user or the mayor edits (title, body, rig, priority, labels, dependencies). */
  updateFields(id: string, patch: BeadFieldsPatch, now: number): Bead {
    const current = this.mustGet(id);
    const title = patch.title ?? current.title;
    const body = patch.body ?? current.body;
    const rigId = patch.rigId ?? current.rigId;
    const priority = patch.priority ?? current.priority;
    const labels = JSON.stringify(patch.labels ?? current.labels);
    const dependsOn = JSON.stringify(patch.dependsOn ?? current.dependsOn);
    this.sql.run`UPDATE beads SET title = ${title}, body = ${body}, rig_id = ${rigId}, priority = ${priority}, labels = ${labels},
                   depends_on = ${dependsOn}, updated_at = ${now}
                 WHERE id = ${id}`;
    return this.mustGet(id);
  }

  /** Remove a bead for good (the caller checked that nothing depends on it and no agent holds it). */
  delete(id: string): boolean {
    return this.sql.run`DELETE FROM beads WHERE id = ${id}` > 0;
  }

  /** Every bead that has dependencies, with them: the town's dependency graph (for the cycle check). */
  dependencyGraph(): Map<string, string[]> {
    const rows = this.sql.all<{ id: string; depends_on: string }>`SELECT id, depends_on FROM beads WHERE depends_on != '[]'`;
    return new Map(rows.map((r) => [r.id, stringList(r.depends_on)]));
  }

  /** The beads that list `id` among their dependencies, oldest first. */
  dependents(id: string): string[] {
    return this.sql.all<{
      id: string;
    }>`SELECT beads.id AS id FROM beads, json_each(beads.depends_on) WHERE json_each.value = ${id} ORDER BY beads.created_at, beads.id`.map((r) => r.id);
  }

  /** Of `ids`, those that exist in this town: id → its type and status. */
  statusesOf(ids: readonly string[]): Map<string, { type: BeadType; status: BeadStatus }> {
    const out = new Map<string, { type: BeadType; status: BeadStatus }>();
    for (const id of new Set(ids)) {
      const row = this.sql.one<{ type: string; status: string }>`SELECT type, status FROM beads WHERE id = ${id}`;
      if (row) out.set(id, { type: row.type as BeadType, status: row.status as BeadStatus });
    }
    return out;
  }

  /**
   * Open or in-progress beads that wait for a dependency not closed yet: bead id → how many. A
   * dependency that no longer exists does not hold a bead back.
   */
  waitingOnDependencies(): Map<string, number> {
    const rows = this.sql.all<{ id: string; waiting: number }>`SELECT b.id AS id, COUNT(*) AS waiting
      FROM beads b, json_each(b.depends_on) d JOIN beads t ON t.id = d.value
      WHERE b.status IN ('open', 'in_progress') AND b.depends_on != '[]' AND t.status != 'closed'
      GROUP BY b.id`;
    return new Map(rows.map((r) => [r.id, Number(r.waiting)]));
  }

  /** The dependencies of `id` that are not closed yet (ids, in the bead's order). */
  unclosedDependencies(id: string): string[] {
    const bead = this.get(id);
    if (!bead || bead.dependsOn.length === 0) return [];
    const statuses = this.statusesOf(bead.dependsOn);
    return bead.dependsOn.filter((dep) => {
      const s = statuses.get(dep);
      return s !== undefined && s.status !== 'closed';
    });
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
      priority: Number(row.priority ?? BEAD_LIMITS.defaultPriority),
      labels: stringList(row.labels),
      dependsOn: stringList(row.depends_on),
    };
  }
}

/** A JSON array of strings column; anything else reads as an empty list, never a crash. */
function stringList(text: unknown): string[] {
  const value = parseJsonValue(text);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
