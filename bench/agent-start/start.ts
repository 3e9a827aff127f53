/**
 * Agent start with and without the sandbox: a real `opencode serve` started through the
 * container's runtime factory (createRuntimeFactory), once unconfined and once per isolation
 * level this machine gives (createSandbox with that level forced), in interleaved rounds.
 * Timed from `start()` to its return: state dir prepared, sandbox lease (uid, chown, bwrap
 * view), spawn → listening, event stream connected, session created. The runtime talks to the
 * real local broker API; the model is never called (no prompt).
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GastownError, type AgentIdentity } from '@gastown/protocol';
import { createBrokerApi, startBrokerServer } from '@gastown/container/broker-api/index';
import type { RuntimeOptions, Timers } from '@gastown/container/contracts';
import { silentLogger } from '@gastown/container/log/index';
import { createRuntimeFactory, FLAVORS, resolveRuntimeBinary, runtimePaths } from '@gastown/container/runtime/index';
import type { ServeRuntime } from '@gastown/container/runtime/serve-runtime';
import { createSandbox, decideIsolation, probeSandbox, type IsolationLevel, type Sandbox, type SandboxProbe } from '@gastown/container/sandbox/index';
import { currentLoad } from '../lib/machine';
import { REPO_ROOT, requirePluginBundle } from '../lib/paths';
import { unusedClient } from '../lib/unused-client';

/** `none` is the baseline: no sandbox wired at all (the factory's default). */
export type Mode = IsolationLevel;
export type HomeKind = 'fresh' | 'warm';

export interface StartTrial {
  round: number;
  mode: Mode;
  /** fresh = a new state dir (first start of an agent); warm = the same state dir again (a restart). */
  home: HomeKind;
  /** start() → returned: listening, event stream connected, session created. */
  startMs: number;
  /** Spawn → "listening" line, as the adapter measured it. */
  listeningMs: number | null;
  /** stop() → returned (process group or uid swept, paths parked). */
  stopMs: number;
  /** The isolation the run reported (its lease's level). */
  isolation: IsolationLevel;
  uid: number | null;
  /**
   * The sandbox's own share, timed apart from the process start: acquire() + release() of a
   * lease on this run's paths right after the run stopped (uid, chown of the home as opencode
   * left it, bwrap view; then sweep and park). null for `none` (no lease to take).
   */
  leaseMs: number | null;
}

export interface StartResult {
  /** Levels measured (the baseline first); levels this machine cannot give are in `unavailable`. */
  modes: Mode[];
  unavailable: Array<{ mode: Mode; why: string }>;
  probe: SandboxProbe;
  /** probeSandbox() once: what a container pays at start to decide its level. */
  probeMs: number;
  trials: StartTrial[];
  /** 1-minute load average before each round. */
  loadPerRound: number[];
}

/** A uid range of its own (tests use 20 000 and 23 000; town containers 100 000 and up). */
const UID_BASE = 27_000;
const UID_COUNT = 10;
/** Where the runtime factory searches node_modules from by default (the container package). */
const CONTAINER_RUNTIME_DIR = `${REPO_ROOT}packages/container/src/runtime`;

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * The sandboxed levels `auto` can pick on this machine, best first (decideIsolation's order):
 * as root uid+namespaces, else uid; not root: namespaces. Each is measured against `none`.
 */
function candidateLevels(probe: SandboxProbe): Mode[] {
  return probe.isRoot ? ['uid', 'uid+namespaces'] : ['namespaces'];
}

/** acquire() + release() of a lease on a stopped run's paths, as ServeRuntime requests it. */
async function timeLease(sandbox: Sandbox | undefined, agent: AgentIdentity, options: RuntimeOptions): Promise<number | null> {
  if (!sandbox) return null;
  const paths = runtimePaths(options.stateDir, FLAVORS.opencode);
  // the runtime's own request: its binary and the plugin are the toolchain
  const binary = resolveRuntimeBinary(FLAVORS.opencode, { resolveFrom: CONTAINER_RUNTIME_DIR });
  const started = performance.now();
  const lease = await sandbox.acquire({
    agentId: agent.id,
    rigId: agent.rigId,
    stateDir: paths.stateDir,
    home: paths.home,
    tmpDir: paths.tmpDir,
    workdir: options.workdir,
    privateFiles: [paths.instructionsFile],
    toolchain: [binary, options.pluginPath],
  });
  await lease.release();
  return performance.now() - started;
}

function agentOf(modeIndex: number, round: number): AgentIdentity {
  const id = `ag_start${modeIndex}r${round}`;
  return { id, townId: 'town_startbench', rigId: null, userId: 'user-bench', role: 'mayor', name: 'mayor', gen: 1 };
}

/** Round r runs the modes rotated by r, so no level always goes first (or right after another). */
function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export async function measureAgentStart(options: { rounds: number }): Promise<StartResult> {
  const bundle = requirePluginBundle();
  // the data dir of every sandbox here (agents' paths lie below it); its parent (/tmp) lets agent uids through
  const root = mkdtempSync(join(tmpdir(), 'gt-bench-start-'));
  chmodSync(root, 0o711);
  // the plugin in a dir of its own, as the container's toolchain is: readable by agent uids
  const toolchain = join(root, 'toolchain');
  mkdirSync(toolchain, { mode: 0o755 });
  const pluginPath = join(toolchain, 'gastown-plugin.js');
  copyFileSync(bundle, pluginPath);
  chmodSync(pluginPath, 0o644);

  const api = createBrokerApi({ logger: silentLogger, fetch });
  const server = await startBrokerServer(api, { hostname: '127.0.0.1', port: 0 });
  const live = new Set<ServeRuntime>();
  // an interrupted run leaves no opencode behind (its own process group; a uid run's sweep is in stop())
  const killOnExit = () => {
    for (const runtime of live) {
      const pid = runtime.pid;
      if (!pid) continue;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.once('exit', killOnExit);
  try {
    const probeStarted = performance.now();
    const probe = await probeSandbox({ poolUid: UID_BASE });
    const probeMs = performance.now() - probeStarted;

    const factories = new Map<Mode, ReturnType<typeof createRuntimeFactory>>();
    const sandboxes = new Map<Mode, Sandbox>();
    const unavailable: Array<{ mode: Mode; why: string }> = [];
    for (const [index, mode] of (['none', ...candidateLevels(probe)] as Mode[]).entries()) {
      if (mode === 'none') {
        factories.set(mode, createRuntimeFactory());
        continue;
      }
      try {
        decideIsolation(mode, probe); // throws config_invalid when this machine cannot give it
      } catch (error) {
        unavailable.push({ mode, why: error instanceof Error ? error.message : String(error) });
        continue;
      }
      const sandbox: Sandbox = await createSandbox({
        mode,
        uidBase: UID_BASE + index * UID_COUNT,
        uidCount: UID_COUNT,
        rootDir: root,
        logger: silentLogger,
        timers: realTimers,
        probe,
      });
      sandboxes.set(mode, sandbox);
      factories.set(mode, createRuntimeFactory({ sandbox }));
    }
    const modes = [...factories.keys()];

    const startOnce = async (mode: Mode, round: number, home: HomeKind): Promise<StartTrial> => {
      const agent = agentOf(modes.indexOf(mode), round);
      const dir = join(root, 'agents', agent.id);
      const workdir = join(dir, 'work');
      mkdirSync(workdir, { recursive: true });
      const runtimeOptions: RuntimeOptions = {
        kind: 'opencode',
        agent,
        workdir,
        stateDir: join(dir, 'state'),
        brokerUrl: server.url,
        // each run its own broker key, as the supervisor registers one per run
        brokerKey: api.registerAgent(agent.id, { client: unusedClient, provider: null }),
        provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', model: 'fake-model', apiKeyEnvVar: null },
        model: 'fake-model',
        smallModel: 'fake-model',
        pluginPath,
        instructions: 'You are the mayor of a benchmark town.',
        logger: silentLogger,
      };
      const runtime = factories.get(mode)!(runtimeOptions) as ServeRuntime;
      live.add(runtime);
      try {
        const a = performance.now();
        await runtime.start();
        const startMs = performance.now() - a;
        if (!runtime.sessionId) throw new GastownError('internal', `${mode}: the started runtime has no session`);
        const isolation = runtime.isolation;
        const uid = runtime.uid;
        const listeningMs = runtime.listeningMs;
        const b = performance.now();
        await runtime.stop();
        const stopMs = performance.now() - b;
        if (isolation !== mode) throw new GastownError('internal', `asked for ${mode}, the run reported ${isolation}`);
        const leaseMs = await timeLease(sandboxes.get(mode), agent, runtimeOptions);
        return { round, mode, home, startMs, listeningMs, stopMs, isolation, uid, leaseMs };
      } finally {
        await runtime.stop();
        live.delete(runtime);
      }
    };

    const trials: StartTrial[] = [];
    const loadPerRound: number[] = [];
    for (let round = 0; round < options.rounds; round += 1) {
      loadPerRound.push(currentLoad()[0]);
      for (const mode of rotate(modes, round)) {
        trials.push(await startOnce(mode, round, 'fresh'));
        trials.push(await startOnce(mode, round, 'warm'));
      }
    }
    return { modes, unavailable, probe, probeMs, trials, loadPerRound };
  } finally {
    process.removeListener('exit', killOnExit);
    await Promise.all([...live].map((runtime) => runtime.stop()));
    await server.close();
    rmSync(root, { recursive: true, force: true });
  }
}
