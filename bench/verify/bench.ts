/**
 * The verify benchmark as one entry of `npm run bench` (bench/run.ts): the Node and the
 * workerd loops of this folder, in the same run, each next to its raw HMAC floor.
 * Alone: `npx tsx bench/verify/bench.ts` (same numbers as run.ts, plus the JSON shape).
 */
import type { Benchmark, BenchBody } from '../lib/report';
import { isMain, runAlone } from '../lib/report';
import type { Table } from '../lib/table';
import type { ResultRow } from './core';
import { benchNode } from './node';
import { benchWorkerd } from './workerd';

const ITERATIONS = 10_000;
const ROUNDS = 5;

function toTable(title: string, rows: readonly ResultRow[]): Table {
  const floor = rows.find((r) => r.name === 'raw-hmac')?.usPerOp ?? Number.NaN;
  return {
    title,
    columns: ['case', 'µs/op', 'ops/s', '× raw HMAC'],
    rows: rows.map((r) => [r.name, r.usPerOp, Math.round(1e6 / r.usPerOp), (r.usPerOp / floor).toFixed(2)]),
  };
}

export const benchmark: Benchmark = {
  id: 'verify',
  title: '1. Token verification: µs/op in Node and workerd vs raw HMAC',
  command: 'npx tsx bench/verify/bench.ts',
  async run(): Promise<BenchBody> {
    const node = await benchNode({ iterations: ITERATIONS, rounds: ROUNDS });
    const workerd = await benchWorkerd({ iterations: ITERATIONS, rounds: ROUNDS });
    return {
      tables: [
        toTable(`verify in Node ${process.version} (median of ${ROUNDS} rounds × ${ITERATIONS.toLocaleString('en-US')})`, node),
        toTable(`verify in workerd via miniflare (median of ${ROUNDS} rounds × ${ITERATIONS.toLocaleString('en-US')}; timed from outside)`, workerd),
      ],
      data: { iterations: ITERATIONS, rounds: ROUNDS, node, workerd },
      method: [
        "measured: one HS256 agent access token, verified in a loop; raw-hmac = crypto.subtle.verify of the signing input (the floor), jose-jwtVerify = jose with our options, verifyAgentAccessToken = the worker's verify (jose + zod claims + error mapping)",
        'workerd: the same loop bundled with esbuild and run in workerd (miniflare); per-op = (t(n) − t(0)) / n timed from Node, because workerd freezes its clocks during compute',
        'rounds are interleaved across cases so load from other processes hits every case alike; the median round is reported',
      ],
    };
  },
};

if (isMain(import.meta.url)) await runAlone(benchmark);
