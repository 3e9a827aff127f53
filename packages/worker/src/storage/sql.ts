/**
 * Binding-only SQL over Durable Object SQLite storage. Every interpolated value is bound,
 * never concatenated: `sql.all<Row>\`SELECT * FROM agents WHERE id = ${id}\``.
 */
export type SqlValue = string | number | null | ArrayBuffer;
export type Row = Record<string, SqlStorageValue>;

export class Sql {
  constructor(private readonly storage: SqlStorage) {}

  private exec(strings: TemplateStringsArray, values: SqlValue[]): SqlStorageCursor<Row> {
    const query = strings.reduce((acc, part, i) => acc + (i === 0 ? '' : '?') + part, '');
    return this.storage.exec<Row>(query, ...values);
  }

  /** All rows. */
  all<T extends Row = Row>(strings: TemplateStringsArray, ...values: SqlValue[]): T[] {
    return this.exec(strings, values).toArray() as T[];
  }

  /** First row or null. */
  one<T extends Row = Row>(strings: TemplateStringsArray, ...values: SqlValue[]): T | null {
    const rows = this.exec(strings, values).toArray();
    return (rows[0] as T | undefined) ?? null;
  }

  /** Run a statement; returns rows written. */
  run(strings: TemplateStringsArray, ...values: SqlValue[]): number {
    return this.exec(strings, values).rowsWritten;
  }

  /** Raw DDL (migrations only: no values). */
  ddl(statement: string): void {
    this.storage.exec(statement);
  }
}
