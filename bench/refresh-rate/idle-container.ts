/**
 * Inbound requests to an idle town container, measured over a real interval: the real
 * container host (packages/container/src/host, in this process) starts the real container
 * process for a town on the dispatch of a mayor that waits (no prompt); the mayor's broker
 * refreshes for real (short TTL) against the testkit's fake control plane, heartbeats flow
 * outbound, and we count the host's inbound log and watch whether the container still goes
 * to sleep after `sleepAfter`.
 *
 * Simulated: the control plane (fake, not the worker/TownDO — the worker does not drive the
 * container host yet), the TTL (seconds instead of an hour), sleepAfter (seconds instead of
 * 30 min). Real: host, container process, supervisor, broker, opencode serve, HTTP.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTAINER_KEY_HEADER, type AgentIdentity, type StartAgentRequest } from '@gastown/protocol';
import { startHost } from '@gastown/container/host/main';
import { startFakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import { startFakeLlm } from '@gastown/testkit/fake-llm/index';
import { requirePluginBundle } from '../lib/paths';

export interface IdleContainerOptions {
  ttlSeconds: number;
  sleepAfterSeconds: number;
  heartbeatIntervalSeconds: number;
  /** How long to watch after the dispatch answered (should exceed sleepAfter). */
  observeSeconds: number;
}

export interface IdleContainerResult {
  ttlSeconds: number;
  sleepAfterSeconds: number;
  heartbeatIntervalSeconds: number;
  dispatchMs: number;
  /** Seconds from the dispatch's answer to the container being asleep (null: still awake at the end). */
  asleepAfterSeconds: number | null;
  /** Seconds the container was awake and observed (dispatch answered → asleep or end). */
  awakeObservedSeconds: number;
  inboundTotal: number;
  inboundAfterDispatch: number;
  inboundPerHourWhileIdle: number;
  refreshesWhileAwake: number;
  failedRefreshes: number;
  heartbeatsWhileAwake: number;
  activityReported: string[];
  containerStarts: number;
  containerSleeps: number;
}

const TOWN = 'town_idlebench';

export async function measureIdleContainer(options: IdleContainerOptions): Promise<IdleContainerResult> {
  const pluginPath = requirePluginBundle();
  const dataDir = mkdtempSync(join(tmpdir(), 'gt-bench-host-'));
  const containerKey = randomBytes(24).toString('hex');
  const providerKey = randomBytes(16).toString('hex');
  const llm = await startFakeLlm({ apiKey: providerKey });
  const cp = await startFakeControlPlane({ tokenTtlSeconds: options.ttlSeconds, clockToleranceSeconds: 0 });
  const host = await startHost({
    port: 0,
    containerKey,
    dataDir,
    defaultSleepAfterMs: options.sleepAfterSeconds * 1000,
    stopGraceMs: 10_000,
    passthrough: {
      GASTOWN_HEARTBEAT_INTERVAL_SECONDS: String(options.heartbeatIntervalSeconds),
      GASTOWN_LOG_LEVEL: 'warn',
      GASTOWN_PLUGIN_PATH: pluginPath,
    },
  });
  const headers = { [CONTAINER_KEY_HEADER]: containerKey, 'content-type': 'application/json' };
  const killOnExit = () => host.host.kill(TOWN); // an interrupted run leaves no container behind
  process.once('exit', killOnExit);
  try {
    host.host.configure(TOWN, { envVars: { OPENAI_API_KEY: providerKey } });
    const mayor: AgentIdentity = { id: 'ag_mayoridle1', townId: TOWN, rigId: null, userId: 'user-bench', role: 'mayor', name: 'mayor', gen: 1 };
    const body: StartAgentRequest = {
      agent: mayor,
      controlPlaneUrl: cp.url,
      credentials: await cp.issueCredentials(mayor),
      runtime: { kind: 'opencode', provider: { kind: 'openai-compatible', baseUrl: `${llm.url}/v1`, model: 'fake-model', apiKeyEnvVar: 'OPENAI_API_KEY' } },
      rig: null,
      bead: null,
      instructions: 'You are the mayor of a benchmark town.',
      prompt: null,
    };
    const t0 = performance.now();
    const res = await fetch(`${host.url}/towns/${TOWN}/container/agents`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`dispatch failed: ${res.status} ${await res.text()}`);
    await res.json();
    const dispatchMs = performance.now() - t0;
    const answeredAt = Date.now();
    const requestsBefore = cp.requests.length;

    // Watch: asleep (sleeps ≥ 1) or the observation window ends.
    let asleepAt: number | null = null;
    const end = answeredAt + options.observeSeconds * 1000;
    while (Date.now() < end) {
      const state = host.host.state(TOWN);
      if (state.sleeps > 0 && !state.running) {
        asleepAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const stopAt = asleepAt ?? Date.now();
    const state = host.host.state(TOWN);
    const awake = cp.requests.slice(requestsBefore).filter((r) => r.at <= stopAt);
    const awakeSeconds = (stopAt - answeredAt) / 1000;
    const afterDispatch = state.inbound.filter((r) => r.at >= answeredAt).length;
    return {
      ttlSeconds: options.ttlSeconds,
      sleepAfterSeconds: options.sleepAfterSeconds,
      heartbeatIntervalSeconds: options.heartbeatIntervalSeconds,
      dispatchMs: Math.round(dispatchMs),
      asleepAfterSeconds: asleepAt === null ? null : Math.round((asleepAt - answeredAt) / 100) / 10,
      awakeObservedSeconds: Math.round(awakeSeconds * 10) / 10,
      inboundTotal: state.inbound.length,
      inboundAfterDispatch: afterDispatch,
      inboundPerHourWhileIdle: (afterDispatch / awakeSeconds) * 3600,
      refreshesWhileAwake: awake.filter((r) => r.route === 'refresh' && r.status === 200).length,
      failedRefreshes: awake.filter((r) => r.route === 'refresh' && r.status !== 200).length,
      heartbeatsWhileAwake: awake.filter((r) => r.route === 'heartbeat').length,
      activityReported: [...new Set(cp.heartbeats.map((h) => h.body.activity))],
      containerStarts: state.starts,
      containerSleeps: state.sleeps,
    };
  } finally {
    process.removeListener('exit', killOnExit);
    await host.close();
    await cp.stop();
    await llm.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
