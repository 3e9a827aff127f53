/**
 * `tsx bench/verify/workerd.ts` — the same loops inside workerd, through miniflare's API.
 * The worker is bundled with esbuild; per-op time = (t(n) − t(0)) / n, timed from Node,
 * median of 5 interleaved rounds.
 */
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { assertCacheStats, CASES, formatTable, median, type CacheStats, type ResultRow } from './core';

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./worker.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    external: ['cloudflare:*', 'node:*'], // built into workerd with nodejs_compat, as wrangler leaves them
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0]!.text;
}

export async function benchWorkerd(options: { iterations?: number; rounds?: number } = {}): Promise<ResultRow[]> {
  const iterations = options.iterations ?? 10_000;
  const rounds = options.rounds ?? 5;
  const mf = new Miniflare({
    modules: true,
    script: await bundle(),
    compatibilityDate: '2026-04-20',
    compatibilityFlags: ['nodejs_compat'],
  });
  try {
    const last: { stats: CacheStats | null } = { stats: null };
    const timed = async (name: string, n: number): Promise<number> => {
      const started = performance.now();
      const res = await mf.dispatchFetch(`http://bench/?case=${name}&n=${n}`);
      if (!res.ok) throw new Error(`workerd bench ${name} failed: ${res.status} ${await res.text()}`);
      last.stats = ((await res.json()) as { stats: CacheStats }).stats;
      return performance.now() - started;
    };
    for (const name of CASES) await timed(name, Math.min(2000, iterations)); // warm-up (and JIT)
    const samples = new Map<string, number[]>(CASES.map((name) => [name, []]));
    for (let r = 0; r < rounds; r += 1) {
      for (const name of CASES) {
        const base = await timed(name, 0);
        const total = await timed(name, iterations);
        samples.get(name)!.push(((total - base) * 1000) / iterations);
      }
    }
    if (last.stats) assertCacheStats(last.stats);
    return CASES.map((name) => ({ name, usPerOp: median(samples.get(name)!) }));
  } finally {
    await mf.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchWorkerd();
  console.log(formatTable('verify, workerd via miniflare (median of 5 × 10,000; timed from outside)', rows));
}
