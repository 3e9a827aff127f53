import type { Sql } from '../storage/sql';

export interface TownEntry {
  id: string;
  name: string;
  createdAt: number;
}

type TownEntryRow = { id: string; name: string; created_at: number };

export class RegistryRepository {
  constructor(private readonly sql: Sql) {}

  list(): TownEntry[] {
    return this.sql.all<TownEntryRow>`SELECT * FROM towns ORDER BY created_at, id`.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }

  get(id: string): TownEntry | null {
    const row = this.sql.one<TownEntryRow>`SELECT * FROM towns WHERE id = ${id}`;
    return row ? { id: row.id, name: row.name, createdAt: row.created_at } : null;
  }

  getByName(name: string): TownEntry | null {
    const row = this.sql.one<TownEntryRow>`SELECT * FROM towns WHERE name = ${name}`;
    return row ? { id: row.id, name: row.name, createdAt: row.created_at } : null;
  }

  insert(entry: TownEntry): void {
    this.sql.run`INSERT INTO towns (id, name, created_at) VALUES (${entry.id}, ${entry.name}, ${entry.createdAt})`;
  }

  delete(id: string): void {
    this.sql.run`DELETE FROM towns WHERE id = ${id}`;
  }
}
