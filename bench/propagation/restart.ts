/**
 * What a restart-based design would cost: stop an agent's real `opencode serve` (the
 * container's runtime adapter, ServeRuntime) and start a new one — the only way to hand a
 * process a new token through its environment — until it listens and has a session again.
 * The runtime talks to the real local broker API (which would hold the agent's token); the
 * model is never called (no prompt), so no LLM is needed.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentIdentity } from '@gastown/protocol';
import { createBrokerApi, startBrokerServer } from '@gastown/container/broker-api/index';
import type { RuntimeOptions } from '@gastown/container/contracts';
import { silentLogger } from '@gastown/container/log/index';
import { createRuntimeFactory } from '@gastown/container/runtime/index';
import type { ServeRuntime } from '@gastown/container/runtime/serve-runtime';
import { requirePluginBundle } from '../lib/paths';
import { unusedClient } from '../lib/unused-client';

export interface RestartTrial {
  stopMs: number;
  startMs: number;
  /** Spawn → "listening" line, as the adapter measured it. */
  listeningMs: number | null;
  totalMs: number;
  rssMiB: number | null;
}

export interface RestartResult {
  firstStartMs: number;
  trials: RestartTrial[];
}

const AGENT: AgentIdentity = { id: 'ag_restartbench', townId: 'town_swapbench', rigId: null, userId: 'user-bench', role: 'mayor', name: 'mayor', gen: 1 };

export async function measureRestart(options: { restarts: number }): Promise<RestartResult> {
  const pluginPath = requirePluginBundle();
  const scratch = mkdtempSync(join(tmpdir(), 'gt-bench-restart-'));
  const workdir = join(scratch, 'work');
  mkdirSync(workdir, { recursive: true });
  const api = createBrokerApi({ logger: silentLogger, fetch });
  const server = await startBrokerServer(api, { hostname: '127.0.0.1', port: 0 });
  const factory = createRuntimeFactory();
  const make = (): ServeRuntime => {
    // a restart-based design gives each new process new credentials: here a new broker key
    const brokerKey = api.registerAgent(AGENT.id, { client: unusedClient, provider: null });
    const runtimeOptions: RuntimeOptions = {
      kind: 'opencode',
      agent: AGENT,
      workdir,
      stateDir: join(scratch, 'state'), // same HOME across restarts, as a restart would keep it
      brokerUrl: server.url,
      brokerKey,
      provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', model: 'fake-model', apiKeyEnvVar: null },
      model: 'fake-model',
      smallModel: 'fake-model',
      pluginPath,
      instructions: 'You are the mayor of a benchmark town.',
      logger: silentLogger,
    };
    return factory(runtimeOptions) as ServeRuntime;
  };
  let current: ServeRuntime | null = null;
  // an interrupted run leaves no opencode behind (its own process group)
  const killOnExit = () => {
    const pid = current?.pid;
    if (pid) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.once('exit', killOnExit);
  try {
    current = make();
    const t0 = performance.now();
    await current.start();
    const firstStartMs = performance.now() - t0;
    const trials: RestartTrial[] = [];
    for (let i = 0; i < options.restarts; i += 1) {
      const rss = current.rssBytes();
      const a = performance.now();
      await current.stop();
      const b = performance.now();
      current = make();
      await current.start();
      const c = performance.now();
      if (!current.sessionId) throw new Error('restarted runtime has no session');
      trials.push({ stopMs: b - a, startMs: c - b, listeningMs: current.listeningMs, totalMs: c - a, rssMiB: rss === null ? null : Math.round(rss / 2 ** 20) });
    }
    return { firstStartMs, trials };
  } finally {
    process.removeListener('exit', killOnExit);
    await current?.stop();
    await server.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
