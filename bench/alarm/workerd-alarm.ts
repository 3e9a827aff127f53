/**
 * The whole alarm tick inside workerd: Miniflare (the workerd of `wrangler dev`, without its
 * Node proxy) runs the real worker (bench entry bench/alarm/worker.ts); each town is seeded through the TownDO's own methods, then the
 * driver times n × reconcileNow() (load state from SQLite → reconcile → apply → nextWakeAt →
 * setAlarm: what `alarm()` runs) from outside: per tick = (t(n) − t(0)) / n, median of rounds.
 */
import { fileURLToPath } from 'node:url';
import { httpJson } from '../lib/http';
import { median } from '../lib/stats';
import { startMiniflareWorker } from '../lib/miniflare-worker';
import type { BenchWorker } from '../lib/wrangler-dev';
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
  /** One heartbeat (the DO's heartbeat method via the same hop) in this town: grows if each request re-arms by loading the town. A steady beat (held in memory since issue 17). */
  msPerHeartbeat: number;
  /** The same with a changed credential report each time: stored (what every third steady beat costs at the default interval). */
  msPerHeartbeatWritten: number;
  actions: string[];
  nextAtInSeconds: number | null;
}

async function post(
  worker: BenchWorker,
  path: string,
  body: unknown,
  auth: Record<string, string> = { [ADMIN_HEADER]: worker.adminSecret },
): Promise<{ ms: number; json: Record<string, unknown> }> {
  const { status, text, ms } = await httpJson(worker.url + path, { headers: auth, body });
  if (status < 200 || status > 299) throw new Error(`${path} after ${Math.round(ms)} ms: ${status} ${text.slice(0, 300)}`);
  return { ms, json: JSON.parse(text) as Record<string, unknown> };
}

/** The user API calls the benchmark needs, each on its own connection. */
export class BenchUserApi {
  constructor(
    private readonly worker: BenchWorker,
    private readonly token: string,
  ) {}
  async createTown(name: string): Promise<{ id: string }> {
    return (await post(this.worker, '/api/towns', { name }, { authorization: `Bearer ${this.token}` })).json['town'] as { id: string };
  }
  async createRig(townId: string, rig: { name: string; gitUrl: string; defaultBranch: string }): Promise<{ id: string }> {
    return (await post(this.worker, `/api/towns/${townId}/rigs`, rig, { authorization: `Bearer ${this.token}` })).json['rig'] as { id: string };
  }
}

export async function startAlarmWorker(): Promise<{ worker: BenchWorker; user: BenchUserApi }> {
  const worker = await startMiniflareWorker({
    entry: fileURLToPath(new URL('./worker.ts', import.meta.url)),
    // liveness far away, so nothing is "lost" while a town is measured: every tick is the steady state
    vars: { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '3600', GASTOWN_RIG_ACCESS_CHECK: 'off' }, // the bench rig's URL is never read
  });
  try {
    const minted = await post(worker, '/api/admin/user-tokens', { userId: USER }, { authorization: `Bearer ${worker.adminSecret}` });
    return { worker, user: new BenchUserApi(worker, minted.json['token'] as string) };
  } catch (error) {
    await worker.stop();
    throw error;
  }
}

/** A town being measured: seeding, re-shaping, timing. */
class BenchTown {
  constructor(
    readonly worker: BenchWorker,
    readonly townId: string,
    readonly rigId: string,
  ) {}

  /** Add agents in chunks (every agent operation re-arms the alarm, which loads the town). */
  async seed(
    counts: { working: number; waiting: number; idle: number },
    label: string,
  ): Promise<{ ms: number; lastChunkMsPerAgent: number; byStatus: Record<string, number> }> {
    const plan: Array<{ working: number; waiting: number; idle: number }> = [];
    for (const kind of ['working', 'waiting', 'idle'] as const) {
      for (let left = counts[kind]; left > 0; left -= SEED_CHUNK) plan.push({ working: 0, waiting: 0, idle: 0, [kind]: Math.min(SEED_CHUNK, left) });
    }
    let ms = 0;
    let lastChunkMsPerAgent = 0;
    let byStatus: Record<string, number> = {};
    let offset = 0;
    for (const chunk of plan) {
      process.stderr.write(`  alarm: seeding ${label}: ${offset}\r`);
      const size = chunk.working + chunk.waiting + chunk.idle;
      const r = await post(this.worker, '/__bench/alarm/seed', { townId: this.townId, rigId: this.rigId, userId: USER, ...chunk, offset });
      ms += r.ms;
      lastChunkMsPerAgent = r.ms / size;
      byStatus = r.json['byStatus'] as Record<string, number>;
      offset += size;
    }
    return { ms, lastChunkMsPerAgent, byStatus };
  }

  /** Heartbeat polecats bench-<from>… with `activity` (in chunks). */
  async setActivity(from: number, count: number, activity: 'working' | 'waiting'): Promise<number> {
    let ms = 0;
    for (let done = 0; done < count; done += SEED_CHUNK) {
      ms += (
        await post(this.worker, '/__bench/alarm/activity', {
          townId: this.townId,
          userId: USER,
          from: from + done,
          count: Math.min(SEED_CHUNK, count - done),
          activity,
        })
      ).ms;
    }
    return ms;
  }

  async measure(
    scenario: Scenario,
    agents: number,
    seed: { ms: number; lastChunkMsPerAgent: number; byStatus: Record<string, number> },
    options: { rounds: number; targetMsPerRound: number },
  ): Promise<WorkerdTickResult> {
    const tick = (n: number) => post(this.worker, '/__bench/alarm/tick', { townId: this.townId, n });
    const rpc = (n: number) => post(this.worker, '/__bench/alarm/rpc', { townId: this.townId, userId: USER, n });
    const beats = (n: number, written = false) => post(this.worker, '/__bench/alarm/heartbeats', { townId: this.townId, userId: USER, n, written });
    await tick(2); // warm-up
    const estimate = Math.max(0.05, ((await tick(5)).ms - (await tick(0)).ms) / 5);
    const n = Math.max(5, Math.min(2000, Math.round(options.targetMsPerRound / estimate)));
    const ticks: number[] = [];
    const rpcs: number[] = [];
    const hbs: number[] = [];
    const written: number[] = [];
    let last: Record<string, unknown> = {};
    for (let r = 0; r < options.rounds; r += 1) {
      const base = (await tick(0)).ms;
      const run = await tick(n);
      last = run.json;
      ticks.push((run.ms - base) / n);
      const rpcBase = (await rpc(0)).ms;
      rpcs.push(((await rpc(n)).ms - rpcBase) / n);
      const writtenBase = (await beats(0, true)).ms;
      written.push(((await beats(n, true)).ms - writtenBase) / n);
      await beats(1); // back to the seeded report: the steady beats below change nothing but the time
      const hbBase = (await beats(0)).ms;
      hbs.push(((await beats(n)).ms - hbBase) / n);
    }
    const nextAt = typeof last['nextAt'] === 'number' ? (last['nextAt'] as number) : null;
    return {
      scenario,
      agents,
      seedMs: Math.round(seed.ms),
      lastSeedChunkMsPerAgent: seed.lastChunkMsPerAgent,
      byStatus: seed.byStatus,
      ticksPerRound: n,
      msPerTick: median(ticks),
      msPerRpcBaseline: median(rpcs),
      msPerHeartbeat: median(hbs),
      msPerHeartbeatWritten: median(written),
      actions: (last['actions'] as string[]) ?? [],
      nextAtInSeconds: nextAt === null ? null : Math.round((nextAt - Date.now()) / 1000),
    };
  }
}

async function newTown(worker: BenchWorker, user: BenchUserApi, name: string): Promise<BenchTown> {
  const town = await user.createTown(name);
  const rig = await user.createRig(town.id, { name: 'bench-rig', gitUrl: 'https://git.example.invalid/bench.git', defaultBranch: 'main' });
  return new BenchTown(worker, town.id, rig.id);
}

/**
 * Every shape at one size, with two towns instead of three: town A is seeded mostly waiting
 * (measured), then its waiting agents heartbeat as working (measured as all-working) — the
 * same rows and beads, only the activity differs; town B is mostly exited.
 */
export async function benchWorkerdSize(
  worker: BenchWorker,
  user: BenchUserApi,
  agents: number,
  options: { rounds: number; targetMsPerRound: number },
): Promise<WorkerdTickResult[]> {
  const waitingShape = shapeOf('mostly-waiting', agents);
  const a = await newTown(worker, user, `alarm-a-${agents}`);
  const seededA = await a.seed(waitingShape, `mostly-waiting ${agents}`);
  const waiting = await a.measure('mostly-waiting', agents, seededA, options);
  const flipMs = await a.setActivity(waitingShape.working, waitingShape.waiting, 'working');
  const working = await a.measure(
    'all-working',
    agents,
    { ...seededA, ms: seededA.ms + flipMs, byStatus: { ...seededA.byStatus, working: agents, waiting: 0 } },
    options,
  );
  const b = await newTown(worker, user, `alarm-b-${agents}`);
  const seededB = await b.seed(shapeOf('mostly-exited', agents), `mostly-exited ${agents}`);
  const exited = await b.measure('mostly-exited', agents, seededB, options);
  return [working, waiting, exited];
}
