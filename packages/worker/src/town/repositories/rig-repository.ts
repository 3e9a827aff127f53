import type { Rig } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';

type RigRow = { id: string; name: string; git_url: string; default_branch: string; created_at: number };

export class RigRepository {
  constructor(
    private readonly sql: Sql,
    private readonly townId: string,
  ) {}

  list(): Rig[] {
    return this.sql.all<RigRow>`SELECT * FROM rigs ORDER BY created_at, id`.map((r) => this.toRig(r));
  }

  get(id: string): Rig | null {
    const row = this.sql.one<RigRow>`SELECT * FROM rigs WHERE id = ${id}`;
    return row ? this.toRig(row) : null;
  }

  getByName(name: string): Rig | null {
    const row = this.sql.one<RigRow>`SELECT * FROM rigs WHERE name = ${name}`;
    return row ? this.toRig(row) : null;
  }

  insert(rig: Rig): void {
    this.sql.run`INSERT INTO rigs (id, name, git_url, default_branch, created_at)
                 VALUES (${rig.id}, ${rig.name}, ${rig.gitUrl}, ${rig.defaultBranch}, ${rig.createdAt})`;
  }

  private toRig(row: RigRow): Rig {
    return { id: row.id, townId: this.townId, name: row.name, gitUrl: row.git_url, defaultBranch: row.default_branch, createdAt: row.created_at };
  }
}
