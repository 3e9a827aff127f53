/**
 * What every benchmark returns, and the two ways to run one: alone (`tsx bench/<name>/run.ts`,
 * prints its tables) or from bench/run.ts (all of them, one JSON file).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { currentLoad, describeMachine, machineInfo } from './machine';
import { formatTable, type Table } from './table';

export interface BenchReport {
  /** Short id, also the key in the results JSON: `verify`, `agent-api`, … */
  id: string;
  title: string;
  /** The command that runs this benchmark alone. */
  command: string;
  tables: Table[];
  /** Raw numbers behind the tables (for the JSON results). */
  data: Record<string, unknown>;
  /** What was measured for real and what was simulated, in plain words. */
  method: string[];
  durationMs: number;
  loadAverageBefore: [number, number, number];
  loadAverageAfter: [number, number, number];
  /** Set when the benchmark could not run (e.g. a module it measures does not exist yet). */
  skipped?: string;
}

export type BenchBody = Omit<BenchReport, 'id' | 'title' | 'command' | 'durationMs' | 'loadAverageBefore' | 'loadAverageAfter'>;

export interface Benchmark {
  id: string;
  title: string;
  command: string;
  run(): Promise<BenchBody>;
}

export async function runBenchmark(bench: Benchmark): Promise<BenchReport> {
  const loadAverageBefore = currentLoad();
  const started = performance.now();
  const body = await bench.run();
  return {
    id: bench.id,
    title: bench.title,
    command: bench.command,
    ...body,
    durationMs: Math.round(performance.now() - started),
    loadAverageBefore,
    loadAverageAfter: currentLoad(),
  };
}

export function printReport(report: BenchReport): void {
  console.log(
    `\n=== ${report.title}  (${report.id}, ${(report.durationMs / 1000).toFixed(1)} s, load ${report.loadAverageBefore[0]} → ${report.loadAverageAfter[0]})`,
  );
  if (report.skipped) console.log(`SKIPPED: ${report.skipped}`);
  for (const table of report.tables) console.log(`\n${formatTable(table)}`);
  if (report.method.length) {
    console.log('\nmethod:');
    for (const line of report.method) console.log(`  - ${line}`);
  }
}

/** True when `moduleUrl` is the script node was started with (tsx bench/x/run.ts). */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Run one benchmark as a script: machine line, tables, exit code 1 on failure. */
export async function runAlone(bench: Benchmark): Promise<void> {
  console.log(describeMachine(machineInfo()));
  try {
    printReport(await runBenchmark(bench));
  } catch (error) {
    console.error(`${bench.id} failed:`, error);
    process.exitCode = 1;
  }
}
