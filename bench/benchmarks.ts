/**
 * Every benchmark of `npm run bench`, in the order they run. Loaded by path: the worker-side
 * benchmarks are typechecked with workerd types (bench/verify/tsconfig.json,
 * bench/tsconfig.worker.json), the rest with Node's (bench/tsconfig.json), and the two type
 * worlds disagree about `process.env`, so nothing here imports them statically.
 */
import type { Benchmark } from './lib/report';

export const BENCHMARK_IDS = ['verify', 'agent-api', 'propagation', 'refresh-rate', 'alarm', 'agent-start', 'session-snapshot'] as const;
export type BenchmarkId = (typeof BENCHMARK_IDS)[number];

const MODULES: Record<BenchmarkId, string> = {
  verify: './verify/bench.ts',
  'agent-api': './agent-api/bench.ts',
  propagation: './propagation/bench.ts',
  'refresh-rate': './refresh-rate/bench.ts',
  alarm: './alarm/bench.ts',
  'agent-start': './agent-start/bench.ts',
  'session-snapshot': './session-snapshot/bench.ts',
};

export async function loadBenchmark(id: BenchmarkId): Promise<Benchmark> {
  const specifier = new URL(MODULES[id], import.meta.url).href;
  const mod = (await import(specifier)) as { benchmark?: Benchmark };
  if (!mod.benchmark) throw new Error(`${MODULES[id]} exports no \`benchmark\``);
  return mod.benchmark;
}
