import type { Sql } from './sql';

/** One numbered schema step. */
export interface SchemaMigration {
  version: number;
  name: string;
  statements: readonly string[];
}

/**
 * Apply every migration newer than the stored `schema_version`, in order, each in its own
 * transaction together with the version bump. Idempotent: a second run does nothing.
 * Returns the version the schema is at afterwards.
 */
export function runMigrations(sql: Sql, transaction: <T>(fn: () => T) => T, migrations: readonly SchemaMigration[]): number {
  sql.ddl('CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)');
  let current = Number(sql.one<{ version: number }>`SELECT version FROM schema_version WHERE id = 1`?.version ?? 0);
  const pending = [...migrations].sort((a, b) => a.version - b.version).filter((m) => m.version > current);
  for (const migration of pending) {
    transaction(() => {
      for (const statement of migration.statements) sql.ddl(statement);
      sql.run`INSERT INTO schema_version (id, version) VALUES (1, ${migration.version})
              ON CONFLICT (id) DO UPDATE SET version = excluded.version`;
    });
    current = migration.version;
  }
  return current;
}
