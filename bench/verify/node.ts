/**
 * `tsx bench/verify/node.ts` — verifyAgentAccessToken vs a raw WebCrypto HMAC verify, in Node.
 * A warm-up of every case, then `rounds` rounds that each time every case once (interleaved,
 * so a noisy neighbour on a shared machine hits all cases alike); the median per case is reported.
 */
import { performance } from 'node:perf_hooks';
import { assertCacheStats, CASES, formatTable, loop, median, prepare, type ResultRow } from './core';

export async function benchNode(options: { iterations?: number; rounds?: number } = {}): Promise<ResultRow[]> {
  const iterations = options.iterations ?? 10_000;
  const rounds = options.rounds ?? 5;
  const prepared = await prepare();
  const samples = new Map<string, number[]>(CASES.map((name) => [name, []]));
  for (const name of CASES) await loop(prepared.run[name], Math.min(2000, iterations));
  for (let r = 0; r < rounds; r += 1) {
    for (const name of CASES) {
      const started = performance.now();
      await loop(prepared.run[name], iterations);
      samples.get(name)!.push(((performance.now() - started) * 1000) / iterations);
    }
  }
  assertCacheStats(prepared.stats());
  return CASES.map((name) => ({ name, usPerOp: median(samples.get(name)!) }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchNode();
  console.log(formatTable(`verify, Node ${process.version} (median of 5 × 10,000)`, rows));
}
