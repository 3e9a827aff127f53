/**
 * The verify benchmark as one entry of `npm run bench` (bench/run.ts): the Node and the
 * workerd loops of this folder, in the same run, each next to its raw HMAC floor.
 * Alone: `npx tsx bench/verify/bench.ts` (same numbers as run.ts, plus the JSON shape).
 */
import type { Benchmark, BenchBody } from '../lib/report';
import { isMain, runAlone } from '../lib/report';
import type { Cell, Table } from '../lib/table';
import type { ResultRow } from './core';
import { benchNode } from './node';
import { benchWorkerd } from './workerd';

const ITERATIONS = 10_000;
const ROUNDS = 5;

/** Issue 17's goals, as multiples of the raw HMAC verify measured in the same run. */
const GOALS = {
  Node: { seen: 2, new: 3 },
  workerd: { seen: 2, new: 5 },
} as const;

function ratio(rows: readonly ResultRow[], name: string): number {
  const floor = rows.find((r) => r.name === 'raw-hmac')?.usPerOp ?? Number.NaN;
  return (rows.find((r) => r.name === name)?.usPerOp ?? Number.NaN) / floor;
}

function goalsTable(node: readonly ResultRow[], workerd: readonly ResultRow[]): Table {
  const row = (runtime: keyof typeof GOALS, rows: readonly ResultRow[], kind: 'seen' | 'new'): Cell[] => {
    const value = ratio(rows, `cache-${kind}`);
    return [`${runtime}, token ${kind}`, value.toFixed(2), `≤ ${GOALS[runtime][kind]}`, value <= GOALS[runtime][kind] ? 'met' : 'not met'];
  };
  return {
    title: "token verification through the worker's cache (VerifiedTokenCache) vs a bare HMAC verify, same run",
    columns: ['case', '× raw HMAC', 'goal', ''],
    rows: [row('Node', node, 'seen'), row('Node', node, 'new'), row('workerd', workerd, 'seen'), row('workerd', workerd, 'new')],
    notes: [
      'seen = a token the cache verified before (SHA-256 look-up); new = one it has not (look-up, full verify, insert, eviction); both on a full cache (10,000 entries, CLOCK eviction)',
    ],
  };
}

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
        goalsTable(node, workerd),
      ],
      data: { iterations: ITERATIONS, rounds: ROUNDS, node, workerd },
      method: [
        "measured: one HS256 agent access token, verified in a loop; raw-hmac = crypto.subtle.verify of the signing input (the floor), sha256-digest = crypto.subtle.digest of the token (the cache's look-up key), jose-jwtVerify = jose with our options, verifyAgentAccessToken = the worker's verify (jose + zod claims + error mapping)",
        "cache-seen = VerifiedTokenCache (what the agent middleware calls) with that token verified before, in a cache filled to its bound; cache-new = the same cache API on a token it has not seen: 12,000 distinct tokens cycled through the 10,000-entry cache, so every call misses, verifies in full, inserts and evicts (checked after the run from the caches' hit/miss counters)",
        'workerd: the same loop bundled with esbuild and run in workerd (miniflare); per-op = (t(n) − t(0)) / n timed from Node, because workerd freezes its clocks during compute',
        'rounds are interleaved across cases so load from other processes hits every case alike; the median round is reported',
      ],
    };
  },
};

if (isMain(import.meta.url)) await runAlone(benchmark);
