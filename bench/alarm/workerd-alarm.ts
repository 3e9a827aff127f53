/**
 * The whole alarm tick inside workerd: `wrangler dev` runs the real worker (bench entry
 * bench/alarm/worker.ts); each town is seeded through the TownDO's own methods, then the
 * driver times n × reconcileNow() (load state from SQLite → reconcile → apply → nextWakeAt →
 * setAlarm: what `alarm()` runs) from outside: per tick = (t(n) − t(0)) / n, median of rounds.
 */
import { fileURLToPath } from 'node:url';
import { createUserToken, UserApi } from '@gastown/testkit/stack/clients';
import { median } from '../lib/stats';
import { startBenchWorker, type BenchWorker } from '../lib/wrangler-dev';
import { shapeOf, type Scenario } from './scenarios';

const ADMIN_HEADER = 'x-gastown-bench-admin';
const USER = 'bench-alarm-user';
const SEED_CHUNK = 50;

export interface WorkerdTickResult {
  scenario: Scenario;
  agents: number;
  seedMs: number;
  /** Seeding time per agent in the last chunk (the town at its full size): create/issue/heartbeat cost there. */
  lastSeedChunkMsPerAgent: number;
  byStatus: Record<string, number>;
  ticksPerRound: number;
  /** One reconcileNow() via a local RPC hop, minus nothing. */
  msPerTick: number;
  /** One getTown() via the same hop: the RPC cost alone. */
  msPerRpcBaseline: number;
  actions: string[];
  nextAtInSeconds: number | null;
}

async function post(worker: BenchWorker, path: string, body: unknown): Promise<{ ms: number; json: Record<string, unknown> }> {
  const t0 = performance.now();
  const res = await fetch(worker.url + path, { method: 'POST', headers: { [ADMIN_HEADER]: worker.adminSecret, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return { ms, json };
}

export async function startAlarmWorker(): Promise<{ worker: BenchWorker; user: UserApi }> {
  const worker = await startBenchWorker({
    entry: fileURLToPath(new URL('./worker.ts', import.meta.url)),
    workerFirst: ['/__bench/*'],
    // liveness far away, so nothing is "lost" while a town is measured: every tick is the steady state
    vars: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '3600' },
  });
  try {
    const user = new UserApi(worker.url, (await createUserToken(worker.url, worker.adminSecret, USER)).token);
    return { worker, user };
  } catch (error) {
    await worker.stop();
    throw error;
  }
}

export async function benchWorkerdTick(worker: BenchWorker, user: UserApi, scenario: Scenario, agents: number, options: { rounds: number; targetMsPerRound: number }): Promise<WorkerdTickResult> {
  const town = await user.createTown(`alarm-${scenario}-${agents}`);
  const rig = await user.createRig(town.id, { name: 'bench-rig', gitUrl: 'https://git.example.invalid/bench.git', defaultBranch: 'main' });
  // seed in chunks: every agent operation re-arms the alarm (loads the town), so a big town is slow to build
  const shape = shapeOf(scenario, agents);
  const plan: Array<{ working: number; waiting: number; idle: number }> = [];
  for (const kind of ['working', 'waiting', 'idle'] as const) {
    for (let left = shape[kind]; left > 0; left -= SEED_CHUNK) plan.push({ working: 0, waiting: 0, idle: 0, [kind]: Math.min(SEED_CHUNK, left) });
  }
  let offset = 0;
  let seedMs = 0;
  let seeded: { json: Record<string, unknown> } = { json: {} };
  const chunkMs: number[] = [];
  for (const chunk of plan) {
    const r = await post(worker, '/__bench/alarm/seed', { townId: town.id, rigId: rig.id, userId: USER, ...chunk, offset });
    seedMs += r.ms;
    chunkMs.push(r.ms / (chunk.working + chunk.waiting + chunk.idle));
    offset += chunk.working + chunk.waiting + chunk.idle;
    seeded = r;
  }
  const tick = (n: number) => post(worker, '/__bench/alarm/tick', { townId: town.id, n });
  const rpc = (n: number) => post(worker, '/__bench/alarm/rpc', { townId: town.id, userId: USER, n });
  // warm-up and estimate
  await tick(2);
  const estimate = Math.max(0.05, ((await tick(5)).ms - (await tick(0)).ms) / 5);
  const n = Math.max(5, Math.min(2000, Math.round(options.targetMsPerRound / estimate)));
  const ticks: number[] = [];
  const rpcs: number[] = [];
  let last: Record<string, unknown> = {};
  for (let r = 0; r < options.rounds; r += 1) {
    const base = (await tick(0)).ms;
    const run = await tick(n);
    last = run.json;
    ticks.push((run.ms - base) / n);
    const rpcBase = (await rpc(0)).ms;
    rpcs.push(((await rpc(n)).ms - rpcBase) / n);
  }
  const nextAt = typeof last['nextAt'] === 'number' ? (last['nextAt'] as number) : null;
  return {
    scenario,
    agents,
    seedMs: Math.round(seedMs),
    lastSeedChunkMsPerAgent: chunkMs.at(-1) ?? 0,
    byStatus: seeded.json['byStatus'] as Record<string, number>,
    ticksPerRound: n,
    msPerTick: median(ticks),
    msPerRpcBaseline: median(rpcs),
    actions: (last['actions'] as string[]) ?? [],
    nextAtInSeconds: nextAt === null ? null : Math.round((nextAt - Date.now()) / 1000),
  };
}
