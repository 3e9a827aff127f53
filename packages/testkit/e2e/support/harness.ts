/**
 * Shared set-up of the end-to-end tests: one stack per test file, the scripted town responder,
 * towns wired to the fake LLM, and polling helpers that report what they last saw on timeout.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Agent, Rig, Town, UpdateTownConfigRequest } from '@gastown/protocol';
import type { ChatRequest, Responder, ResponderContext, Turn } from '../../src/fake-llm/index';
import {
  createRigRepo,
  createTownScenario,
  FAKE_LLM_KEY_VAR,
  FAKE_LLM_MODEL,
  freePort,
  startStack,
  type RigRepo,
  type Stack,
  type StopReport,
  type TownScenario,
  type UserApi,
} from '../../src/stack/index';
import { startControlPlaneProxy, type ControlPlaneProxy } from './control-plane-proxy';

export const E2E_USER = 'e2e-user';

/** Container settings for tests: quick heartbeats, short idle exits, short stop budgets. */
export const E2E_HOST_ENV: Record<string, string> = {
  GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '5',
  GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS: '5',
  GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS: '30',
  GASTOWN_STOP_TIMEOUT_SECONDS: '5',
  GASTOWN_STOP_GRACE_SECONDS: '10',
};

export interface Harness {
  stack: Stack;
  api: UserApi;
  scenario: TownScenario;
  llmApiKey: string;
  /** The containers' way to the control plane, with `controlPlaneProxy: true` (else null). */
  cpProxy: ControlPlaneProxy | null;
  /**
   * A town on the fake LLM; with a rig backed by a fresh bare repo unless `rig: false`. `config`
   * is applied in the same update (its `provider` replaces the default one, its `envVars` are
   * added to the fake LLM's key).
   */
  createTown(
    name: string,
    options: { rig?: boolean; agentTokenTtlSeconds?: number; sleepAfterSeconds?: number; config?: UpdateTownConfigRequest },
  ): Promise<{ town: Town; rig: Rig | null; repo: RigRepo | null }>;
  /** A rig backed by a fresh bare repo. */
  addRig(townId: string, name: string): Promise<{ rig: Rig; repo: RigRepo }>;
  mayorOf(townId: string): Promise<Agent>;
  agentsOf(townId: string): Promise<Agent[]>;
  /** Stop the stack, then the control-plane proxy (if any). */
  stop(): Promise<StopReport>;
}

export interface HarnessOptions {
  workerVars?: Record<string, string>;
  hostEnv?: Record<string, string>;
  /** Answer some model requests yourself; return null to let the scripted town answer. */
  intercept?: (request: ChatRequest, ctx: ResponderContext) => Turn | null | Promise<Turn | null>;
  /** Containers reach the control plane through a ControlPlaneProxy (outages, lost answers). */
  controlPlaneProxy?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const scenario = createTownScenario();
  const intercept = options.intercept;
  const responder: Responder = intercept ? async (request, ctx) => (await intercept(request, ctx)) ?? scenario.responder(request, ctx) : scenario.responder;
  const llmApiKey = `fake-${randomBytes(16).toString('hex')}`;
  const workerPort = options.controlPlaneProxy ? await freePort() : undefined;
  const cpProxy = workerPort !== undefined ? await startControlPlaneProxy({ target: `http://127.0.0.1:${workerPort}` }) : null;
  let stack: Stack;
  try {
    stack = await startStack({
      ...(workerPort !== undefined ? { workerPort } : {}),
      fakeLlm: { apiKey: llmApiKey, responder },
      hostEnv: {
        ...E2E_HOST_ENV,
        // E2E_PLUGIN_PATH: run the suite against another plugin bundle (default: packages/plugin/dist)
        ...(process.env.E2E_PLUGIN_PATH ? { GASTOWN_PLUGIN_PATH: process.env.E2E_PLUGIN_PATH } : {}),
        ...(options.hostEnv ?? {}),
      },
      // the containers call the control plane through the proxy
      workerVars: { ...(options.workerVars ?? {}), ...(cpProxy ? { GASTOWN_PUBLIC_URL: cpProxy.url } : {}) },
      frozenWorker: true,
    });
  } catch (error) {
    await cpProxy?.stop();
    throw error;
  }
  console.log(`e2e stack: ${stack.stateDir} (worker ${stack.workerUrl}, host ${stack.hostUrl})`);
  const api = await stack.userApi(E2E_USER);
  const addRig = async (townId: string, name: string) => {
    const repo = createRigRepo(join(stack.stateDir, 'repos', townId), name);
    const rig = await api.createRig(townId, { name, gitUrl: repo.path, defaultBranch: repo.defaultBranch });
    return { rig, repo };
  };
  return {
    stack,
    api,
    scenario,
    llmApiKey,
    cpProxy,
    async createTown(name, townOptions) {
      const created = await api.createTown(name);
      const { config, ...rest } = townOptions;
      const town = await api.updateConfig(created.id, {
        provider: { kind: 'openai-compatible', baseUrl: stack.fakeLlm!.url, model: FAKE_LLM_MODEL, apiKeyEnvVar: FAKE_LLM_KEY_VAR },
        ...(rest.agentTokenTtlSeconds !== undefined ? { agentTokenTtlSeconds: rest.agentTokenTtlSeconds } : {}),
        ...(rest.sleepAfterSeconds !== undefined ? { sleepAfterSeconds: rest.sleepAfterSeconds } : {}),
        ...(config ?? {}),
        envVars: { [FAKE_LLM_KEY_VAR]: llmApiKey, ...(config?.envVars ?? {}) },
      });
      if (townOptions.rig === false) return { town, rig: null, repo: null };
      return { town, ...(await addRig(town.id, `${name}-rig`)) };
    },
    addRig,
    async mayorOf(townId) {
      const mayor = (await api.agents(townId)).find((a) => a.role === 'mayor');
      if (!mayor) throw new Error(`town ${townId} has no mayor`);
      return mayor;
    },
    agentsOf: (townId) => api.agents(townId),
    async stop() {
      const report = await stack.stop();
      await cpProxy?.stop();
      return report;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Poll `probe` until it returns a value other than null/undefined/false. On timeout, throws
 * with `what` and the last thing `describe` said (so a failure shows the state it got stuck in).
 */
export async function waitFor<T>(
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  options: { timeoutMs: number; intervalMs?: number; what: string; describe?: () => Promise<string> | string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== null && value !== undefined && value !== false) return value;
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const state = options.describe ? await Promise.resolve(options.describe()).catch((e: unknown) => `(describe failed: ${String(e)})`) : '';
      const err = lastError instanceof Error ? ` last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}.${err}${state ? ` state: ${state}` : ''}`);
    }
    await sleep(options.intervalMs ?? 1_000);
  }
}

/** A compact view of a town's agents for failure messages. */
export function describeAgents(agents: Agent[]): string {
  return agents.map((a) => `${a.role}:${a.id}:${a.status}:gen${a.credential.gen}:${a.credential.state}${a.beadId ? `:${a.beadId}` : ''}`).join(' | ');
}
