import { GastownError, type Convoy, type ConvoyStatus } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';
import { keysetBounds, toPage, type Page, type PageRequest } from '../list-page';

type ConvoyRow = {
  id: string;
  name: string;
  goal: string;
  status: string;
  created_by: string;
  created_at: number;
  updated_at: number;
  landed_at: number | null;
};

export interface NewConvoy {
  id: string;
  name: string;
  goal: string;
  createdBy: string;
  beadIds: readonly string[];
  now: number;
}

/** What an edit changes; omitted fields stay as they are. */
export interface ConvoyPatch {
  name?: string;
  goal?: string;
  status?: ConvoyStatus;
}

/**
 * Convoys and their membership. Progress is read, never stored: a convoy's beads are its
 * `convoy_beads` rows whose bead still exists (a deleted bead leaves its convoy), and `closed`
 * counts those whose status is `closed`.
 */
export class ConvoyRepository {
  constructor(
    private readonly sql: Sql,
    private readonly townId: string,
  ) {}

  get(id: string): Convoy | null {
    const row = this.sql.one<ConvoyRow>`SELECT * FROM convoys WHERE id = ${id}`;
    return row ? this.toConvoy(row) : null;
  }

  /** One page of convoys (optionally of one status), oldest first. */
  page(status: ConvoyStatus | null, request: PageRequest): Page<Convoy> {
    const { afterAt, afterId, fetch } = keysetBounds(request);
    const rows = this.sql.all<ConvoyRow>`SELECT * FROM convoys
      WHERE (${status} IS NULL OR status = ${status})
        AND (${afterAt} IS NULL OR created_at > ${afterAt} OR (created_at = ${afterAt} AND id > ${afterId}))
      ORDER BY created_at, id LIMIT ${fetch}`;
    return toPage(
      rows,
      request.limit,
      (r) => ({ createdAt: r.created_at, id: r.id }),
      (r) => this.toConvoy(r),
    );
  }

  insert(convoy: NewConvoy): Convoy {
    this.sql.run`INSERT INTO convoys (id, name, goal, status, created_by, created_at, updated_at, landed_at)
                 VALUES (${convoy.id}, ${convoy.name}, ${convoy.goal}, 'open', ${convoy.createdBy}, ${convoy.now}, ${convoy.now}, NULL)`;
    this.addBeads(convoy.id, convoy.beadIds);
    return this.mustGet(convoy.id);
  }

  update(id: string, patch: ConvoyPatch, now: number): Convoy {
    const current = this.mustGet(id);
    const name = patch.name ?? current.name;
    const goal = patch.goal ?? current.goal;
    const status = patch.status ?? current.status;
    this.sql.run`UPDATE convoys SET name = ${name}, goal = ${goal}, status = ${status}, updated_at = ${now} WHERE id = ${id}`;
    return this.mustGet(id);
  }

  /** Append beads (already members are left where they are). */
  addBeads(id: string, beadIds: readonly string[]): void {
    const last = this.sql.one<{ position: number | null }>`SELECT MAX(position) AS position FROM convoy_beads WHERE convoy_id = ${id}`;
    let position = Number(last?.position ?? -1);
    for (const beadId of beadIds) {
      position += 1;
      this.sql.run`INSERT OR IGNORE INTO convoy_beads (convoy_id, bead_id, position) VALUES (${id}, ${beadId}, ${position})`;
    }
  }

  removeBeads(id: string, beadIds: readonly string[]): void {
    for (const beadId of beadIds) this.sql.run`DELETE FROM convoy_beads WHERE convoy_id = ${id} AND bead_id = ${beadId}`;
  }

  delete(id: string): boolean {
    this.sql.run`DELETE FROM convoy_beads WHERE convoy_id = ${id}`;
    return this.sql.run`DELETE FROM convoys WHERE id = ${id}` > 0;
  }

  /**
   * Open convoys whose beads are all closed (and that have at least one): the ones to settle.
   * `allCancelled`: every bead was closed as cancelled (its rig was deleted), so nothing of the
   * convoy's goal was done. One query over the open convoys only, cheap to ask after every change.
   */
  readyToLand(): Array<{ id: string; allCancelled: boolean }> {
    return this.sql.all<{ id: string; cancelled: number; total: number }>`SELECT c.id AS id, COUNT(*) AS total,
          SUM(CASE WHEN json_extract(b.metadata, '$.cancelled') = 1 THEN 1 ELSE 0 END) AS cancelled
        FROM convoys c
        JOIN convoy_beads m ON m.convoy_id = c.id
        JOIN beads b ON b.id = m.bead_id
        WHERE c.status = 'open'
        GROUP BY c.id
        HAVING COUNT(*) > 0 AND SUM(CASE WHEN b.status = 'closed' THEN 1 ELSE 0 END) = COUNT(*)
        ORDER BY c.created_at, c.id`.map((r) => ({ id: r.id, allCancelled: Number(r.cancelled) === Number(r.total) }));
  }

  /** open → cancelled, only if it is still open: true when this call cancelled it. */
  cancelOpen(id: string, now: number): boolean {
    return this.sql.run`UPDATE convoys SET status = 'cancelled', updated_at = ${now} WHERE id = ${id} AND status = 'open'` > 0;
  }

  /** open → landed, only if it is still open: true when this call landed it (so it is announced once). */
  land(id: string, now: number): boolean {
    return this.sql.run`UPDATE convoys SET status = 'landed', landed_at = ${now}, updated_at = ${now} WHERE id = ${id} AND status = 'open'` > 0;
  }

  private mustGet(id: string): Convoy {
    const convoy = this.get(id);
    if (!convoy) throw new GastownError('internal', `convoy ${id} vanished`);
    return convoy;
  }

  private toConvoy(row: ConvoyRow): Convoy {
    const members = this.sql.all<{ bead_id: string; status: string }>`SELECT m.bead_id AS bead_id, b.status AS status
      FROM convoy_beads m JOIN beads b ON b.id = m.bead_id
      WHERE m.convoy_id = ${row.id} ORDER BY m.position`;
    return {
      id: row.id,
      townId: this.townId,
      name: row.name,
      goal: row.goal,
      beadIds: members.map((m) => m.bead_id),
      status: row.status as ConvoyStatus,
      progress: { closed: members.filter((m) => m.status === 'closed').length, total: members.length },
      createdBy: row.created_by,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      landedAt: row.landed_at === null ? null : Number(row.landed_at),
    };
  }
}
