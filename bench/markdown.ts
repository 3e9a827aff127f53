/**
 * `npx tsx bench/markdown.ts [bench/results/<file>.json]` — the tables of a results file as
 * Markdown (what docs/PERFORMANCE.md quotes), so the docs cite exactly what a run printed.
 */
import { readFileSync } from 'node:fs';
import type { BenchReport } from './lib/report';
import type { Cell, Table } from './lib/table';

function cell(value: Cell): string {
  if (value === null) return '—';
  if (typeof value === 'string') return value.replace(/\|/g, '\\|');
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function tableToMarkdown(table: Table): string {
  const lines = [`**${table.title}**`, '', `| ${table.columns.join(' | ')} |`, `|${table.columns.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const row of table.rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  for (const note of table.notes ?? []) lines.push('', `- ${note}`);
  return lines.join('\n');
}

const file = process.argv[2] ?? 'bench/results/latest.json';
const results = JSON.parse(readFileSync(file, 'utf8')) as { benchmarks: Record<string, BenchReport> };
for (const report of Object.values(results.benchmarks)) {
  console.log(
    `### ${report.title}\n\n\`${report.command}\` — ${(report.durationMs / 1000).toFixed(1)} s, load average ${report.loadAverageBefore[0]} → ${report.loadAverageAfter[0]}\n`,
  );
  if (report.skipped) console.log(`${report.skipped}\n`);
  for (const table of report.tables) console.log(`${tableToMarkdown(table)}\n`);
}
