/**
 * 6. What isolation costs an agent start: a real `opencode serve` started through the
 * container's runtime factory without a sandbox and with each level this machine gives,
 * in interleaved rounds (fresh and warm home). Alone: `npx tsx bench/agent-start/bench.ts`
 * (needs `npm run build` once, for the plugin; the uid levels need root, namespaces bwrap).
 */
import type { Benchmark, BenchBody } from '../lib/report';
import { isMain, runAlone } from '../lib/report';
import type { Cell } from '../lib/table';
import { median, summarize, type Summary } from '../lib/stats';
import { measureAgentStart, type HomeKind, type Mode, type StartTrial } from './start';

const ROUNDS = 5;
const HOMES: HomeKind[] = ['fresh', 'warm'];

function ratio(value: number, baseline: number): string {
  return `${(value / baseline).toFixed(2)}×`;
}

/** Median over rounds of (this level − none) in the same round and home: the paired cost. */
function pairedDeltaMs(trials: StartTrial[], mode: Mode, home: HomeKind): number {
  const deltas: number[] = [];
  for (const t of trials) {
    if (t.mode !== mode || t.home !== home) continue;
    const base = trials.find((b) => b.mode === 'none' && b.home === home && b.round === t.round);
    if (base) deltas.push(t.startMs - base.startMs);
  }
  return median(deltas);
}

export const benchmark: Benchmark = {
  id: 'agent-start',
  title: '6. Agent start with and without the sandbox (opencode serve through the runtime factory)',
  command: 'npx tsx bench/agent-start/bench.ts',
  async run(): Promise<BenchBody> {
    const result = await measureAgentStart({ rounds: ROUNDS });
    const { modes, trials } = result;
    const pick = (mode: Mode, home: HomeKind) => trials.filter((t) => t.mode === mode && t.home === home);
    const summaries: Record<string, { start: Summary; listening: Summary; stop: Summary; lease: Summary }> = {};
    const rows: Cell[][] = [];
    for (const home of HOMES) {
      const base = summarize(pick('none', home).map((t) => t.startMs));
      for (const mode of modes) {
        const mine = pick(mode, home);
        const s = {
          start: summarize(mine.map((t) => t.startMs)),
          listening: summarize(mine.map((t) => t.listeningMs ?? Number.NaN)),
          stop: summarize(mine.map((t) => t.stopMs)),
          lease: summarize(mine.flatMap((t) => (t.leaseMs === null ? [] : [t.leaseMs]))),
        };
        summaries[`${mode}/${home}`] = s;
        const none = mode === 'none';
        rows.push([
          home,
          mode,
          s.start.p50,
          s.start.p90,
          s.listening.p50,
          s.stop.p50,
          none ? null : s.lease.p50,
          none ? '—' : ratio(s.start.p50, base.p50),
          none ? '—' : ratio(s.start.p90, base.p90),
          none ? null : Math.round(pairedDeltaMs(trials, mode, home)),
          s.start.n,
        ]);
      }
    }
    const uids = [...new Set(trials.map((t) => t.uid).filter((u): u is number => u !== null))].sort((a, b) => a - b);
    return {
      tables: [
        {
          title: `agent start → listening with a session (ms; ${ROUNDS} interleaved rounds, fresh then warm home per level and round)`,
          columns: [
            'home',
            'isolation',
            'start p50',
            'start p90',
            'spawn → listening p50',
            'stop p50',
            'lease p50',
            'p50 ÷ none',
            'p90 ÷ none',
            'paired Δ ms (median)',
            'n',
          ],
          rows,
          notes: [
            'start = runtime.start() until it returns: state dir prepared, sandbox lease (uid from the pool, paths chowned, bwrap view), spawn → listening, event stream connected, session created',
            'fresh = a new agent state dir (first start of an agent); warm = the same state dir started again after a stop (a restart: the home is handed back to a pool uid)',
            "lease = the sandbox's own work timed apart, after the run stopped: acquire() (uid, chown of the home as opencode left it, bwrap view) + release() (sweep the uid, park the paths) on the same paths",
            'paired Δ = median over rounds of (this level − none) in the same round and home; rounds rotate the order of the levels',
            `sandbox probe at container start (probeSandbox: root check + bwrap as a pool uid and as itself) ${Math.round(result.probeMs)} ms, once per container`,
            `1-minute load average before each round: ${result.loadPerRound.join(', ')}`,
            ...(uids.length ? [`agent uids used: ${uids.length} (${uids[0]}–${uids.at(-1)}), one per sandboxed start`] : []),
            ...result.unavailable.map((u) => `not measured: ${u.mode} (${u.why})`),
          ],
        },
      ],
      data: { ...result, summaries },
      method: [
        'MEASURED: createRuntimeFactory() (no sandbox, the level `none`) and createRuntimeFactory({ sandbox }) with createSandbox({ mode: <level> }) for each level `auto` can pick on this machine (as root: uid+namespaces, and uid when bwrap is missing; not root: namespaces), one data dir shared by all; the probe is run once and injected',
        "each start is a real `opencode serve` (the repo's opencode-ai binary, the bundled plugin copied into a toolchain dir) against the real local broker API with a fresh broker key per run; no model call; stopped (and, at uid levels, its uid swept and its paths parked) before the next start",
        'per round every level runs a fresh start (new state dir) then a warm start (same state dir); the order of the levels rotates each round, so load changes spread over all levels',
      ],
    };
  },
};

if (isMain(import.meta.url)) await runAlone(benchmark);
