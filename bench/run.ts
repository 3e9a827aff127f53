/**
 * `npm run bench` — every benchmark in one run, one table set per benchmark, results as JSON
 * in bench/results/latest.json (and bench/results/<date>.json with `--save`).
 *
 *   npm run bench                       all
 *   npm run bench -- --only verify,agent-api
 *   npm run bench -- --save             also write bench/results/<YYYY-MM-DD>.json
 *
 * Each benchmark also runs alone: see its `command` (printed in the table header and stored
 * in the JSON). Not part of `npm test`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeMachine, machineInfo } from './lib/machine';
import { printReport, runBenchmark, type BenchReport } from './lib/report';
import { BENCHMARK_IDS, loadBenchmark } from './benchmarks';

function parseArgs(argv: string[]): { only: string[] | null; save: boolean } {
  let only: string[] | null = null;
  let save = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--save') save = true;
    else if (arg === '--only') only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg.startsWith('--only=')) only = arg.slice('--only='.length).split(',').filter(Boolean);
    else throw new Error(`unknown argument ${arg} (use --only a,b and/or --save)`);
  }
  return { only, save };
}

const { only, save } = parseArgs(process.argv.slice(2));
// Ctrl-C: exit through process 'exit' handlers, which stop the processes a benchmark started
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
const unknown = (only ?? []).filter((id) => !(BENCHMARK_IDS as readonly string[]).includes(id));
if (unknown.length) throw new Error(`unknown benchmark id ${unknown.join(', ')} (known: ${BENCHMARK_IDS.join(', ')})`);
const selected = BENCHMARK_IDS.filter((id) => only === null || only.includes(id));

const startedAt = new Date();
const machineBefore = machineInfo();
console.log(`gastown bench — ${startedAt.toISOString()}\n${describeMachine(machineBefore)}`);

const reports: BenchReport[] = [];
const failures: Array<{ id: string; error: string }> = [];
for (const id of selected) {
  try {
    const bench = await loadBenchmark(id);
    const report = await runBenchmark(bench);
    reports.push(report);
    printReport(report);
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    failures.push({ id, error: message });
    console.error(`\n=== ${id}: FAILED — ${message}`);
  }
}

const finishedAt = new Date();
const results = {
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
  machine: { ...machineBefore, loadAverageAtStart: machineBefore.loadAverage, loadAverageAtEnd: machineInfo().loadAverage },
  benchmarks: Object.fromEntries(reports.map((r) => [r.id, r])),
  failures,
};
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const json = `${JSON.stringify(results, null, 2)}\n`;
writeFileSync(`${dir}latest.json`, json);
const written = ['bench/results/latest.json'];
if (save) {
  // never over an earlier run of the same day (the docs link to stored runs): <date>.json, then <date>-2.json, …
  const day = startedAt.toISOString().slice(0, 10);
  let name = `${day}.json`;
  for (let n = 2; existsSync(`${dir}${name}`); n += 1) name = `${day}-${n}.json`;
  writeFileSync(`${dir}${name}`, json);
  written.push(`bench/results/${name}`);
}
console.log(
  `\n${reports.length} benchmark(s) in ${results.durationSeconds} s; load average ${results.machine.loadAverageAtEnd.join(' / ')}; wrote ${written.join(', ')}`,
);
if (failures.length) {
  console.error(`${failures.length} benchmark(s) failed: ${failures.map((f) => f.id).join(', ')}`);
  process.exitCode = 1;
}
