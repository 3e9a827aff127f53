/**
 * A tiny worker that runs the verify loops inside workerd (bundled by workerd.ts).
 * GET /?case=<name>&n=<iterations> → { case, n, inWorkerMs, stats } (stats: the cache cases' counters).
 * Note: workerd freezes Date/performance clocks during synchronous work (Spectre mitigation),
 * so the driver times the request from outside and subtracts an n=0 baseline.
 */
import { CASES, loop, prepare, type CaseName, type Prepared } from './core';

let prepared: Promise<Prepared> | null = null; // bench-only cache: one token and key per isolate

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const name = url.searchParams.get('case') as CaseName | null;
    const n = Number(url.searchParams.get('n') ?? '0');
    if (!name || !CASES.includes(name) || !Number.isInteger(n) || n < 0) return Response.json({ error: 'bad query' }, { status: 400 });
    prepared ??= prepare();
    const { run, stats } = await prepared;
    const started = performance.now();
    await loop(run[name], n);
    return Response.json({ case: name, n, inWorkerMs: performance.now() - started, stats: stats() });
  },
};
