/** Plain-text tables for the terminal (and the same rows for the JSON results). */

export type Cell = string | number | null;

export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Lines printed under the table (what was simulated, caveats). */
  notes?: string[];
}

function show(cell: Cell): string {
  if (cell === null) return '—';
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return String(cell);
  if (Number.isInteger(cell)) return cell.toLocaleString('en-US');
  const abs = Math.abs(cell);
  const digits = abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return cell.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatTable(table: Table): string {
  const cells = table.rows.map((row) => row.map(show));
  const widths = table.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: string[]) => values.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  const out = [table.title, line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  for (const note of table.notes ?? []) out.push(`  · ${note}`);
  return out.join('\n');
}
