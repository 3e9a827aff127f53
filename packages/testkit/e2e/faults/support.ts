/**
 * Set-up of the fault suite: one stack whose containers reach the control plane only through a
 * fault-injecting proxy (the worker's GASTOWN_PUBLIC_URL points at it), the scripted town
 * responder wrapped with a mayor gate (hold a mayor's model request while a fault is set up),
 * and small probes over the fake LLM's recording, the town events and the container's runtime.
 */
import { randomBytes } from 'node:crypto';
import { AgentRuntimeListSchema, type Agent, type AgentRuntimeStatus, type TownEvent } from '@gastown/protocol';
import type { Responder, Turn } from '../../src/fake-llm/index';
import { startFaultProxy, type FaultProxy } from '../../src/fault-proxy/index';
import {
  createTownScenario,
  failureCodeOf,
  FAKE_LLM_KEY_VAR,
  FAKE_LLM_MODEL,
  freePort,
  roleOf,
  startStack,
  type Stack,
  type TownScenario,
  type UserApi,
} from '../../src/stack/index';
import { describeAgents, E2E_HOST_ENV, waitFor } from '../support/harness';

export const FAULT_USER = 'e2e-faults';
/** Heartbeats every 20 s: an agent is lost after 3 missed (60 s), longer than any outage here. */
export const FAULT_HEARTBEAT_SECONDS = 20;

export interface MayorGate {
  pending(): number;
  /** Let the held requests go on; with `answer`, the first of them gets it instead of the scenario's turn. */
  release(answer?: Turn): void;
}

export interface FaultHarness {
  stack: Stack;
  /** Container → control plane (GASTOWN_PUBLIC_URL). */
  proxy: FaultProxy;
  /** Control plane → container host (GASTOWN_CONTAINER_HOST_URL): pushes, messages, starts. */
  hostProxy: FaultProxy;
  /** Cut (true) or restore (false) both directions between one town's container and the control plane. */
  partition(townId: string, on: boolean): void;
  api: UserApi;
  scenario: TownScenario;
  llmApiKey: string;
  /** A town on the fake LLM, without a rig: its mayor lists rigs (gt_list_rigs) and answers. */
  createTown(name: string, agentTokenTtlSeconds: number): Promise<{ townId: string; mayorId: string }>;
  /** Hold the model requests of this mayor until release(). */
  holdMayor(mayorId: string): MayorGate;
  stop(): Promise<void>;
}

export async function startFaultHarness(): Promise<FaultHarness> {
  const scenario = createTownScenario();
  let gate: { agentId: string; promise: Promise<void>; waiting: number; answer: Turn | null } | null = null;
  const responder: Responder = async (request, ctx) => {
    const held = gate;
    if (held && ctx.agentId === held.agentId && roleOf(ctx.toolNames) === 'mayor') {
      held.waiting += 1;
      await held.promise;
      held.waiting -= 1;
      const answer = held.answer;
      held.answer = null;
      if (answer) return answer;
    }
    return scenario.responder(request, ctx);
  };
  const llmApiKey = `fake-${randomBytes(16).toString('hex')}`;
  const workerPort = await freePort();
  const proxy = await startFaultProxy({ target: `http://127.0.0.1:${workerPort}` });
  // its real target (the host's port) is known once the stack runs
  const hostProxy = await startFaultProxy({ target: 'http://127.0.0.1:9' });
  hostProxy.refuseWith = 503;
  let stack: Stack;
  try {
    stack = await startStack({
      workerPort,
      // a bundle made at start: edits in the checkout during the run cannot reload the worker
      frozenWorker: true,
      fakeLlm: { apiKey: llmApiKey, responder },
      hostEnv: { ...E2E_HOST_ENV, GASTOWN_HEARTBEAT_INTERVAL_SECONDS: String(FAULT_HEARTBEAT_SECONDS) },
      // the containers call the control plane through the proxy
      workerVars: { GASTOWN_PUBLIC_URL: proxy.url, GASTOWN_CONTAINER_HOST_URL: hostProxy.url },
    });
  } catch (error) {
    await proxy.stop();
    await hostProxy.stop();
    throw error;
  }
  hostProxy.setTarget(stack.hostUrl);
  console.log(`fault stack: ${stack.stateDir} (worker ${stack.workerUrl}, proxy ${proxy.url}, host ${stack.hostUrl})`);
  const api = await stack.userApi(FAULT_USER);
  const harness: FaultHarness = {
    stack,
    proxy,
    hostProxy,
    partition(townId, on) {
      for (const p of [proxy, hostProxy]) {
        p.faultTowns = on ? new Set([townId]) : null;
        p.mode = on ? 'refuse' : 'pass';
      }
    },
    api,
    scenario,
    llmApiKey,
    async createTown(name, agentTokenTtlSeconds) {
      // harness.api, not api: a test may replace the user client (key rotation re-signs user tokens)
      const created = await harness.api.createTown(name);
      await harness.api.updateConfig(created.id, {
        provider: { kind: 'openai-compatible', baseUrl: stack.fakeLlm!.url, model: FAKE_LLM_MODEL, apiKeyEnvVar: FAKE_LLM_KEY_VAR },
        envVars: { [FAKE_LLM_KEY_VAR]: llmApiKey },
        agentTokenTtlSeconds,
      });
      const mayor = (await harness.api.agents(created.id)).find((a) => a.role === 'mayor');
      if (!mayor) throw new Error(`town ${created.id} has no mayor`);
      return { townId: created.id, mayorId: mayor.id };
    },
    holdMayor(mayorId) {
      let release: () => void = () => undefined;
      const promise = new Promise<void>((resolve) => {
        release = resolve;
      });
      const current: { agentId: string; promise: Promise<void>; waiting: number; answer: Turn | null } = {
        agentId: mayorId,
        promise,
        waiting: 0,
        answer: null,
      };
      gate = current;
      return {
        pending: () => current.waiting,
        release(answer) {
          if (answer && current.waiting > 0) current.answer = answer;
          if (gate === current) gate = null;
          release();
        },
      };
    },
    async stop() {
      if (gate) gate = null;
      await stack.stop();
      await proxy.stop();
      await hostProxy.stop();
    },
  };
  return harness;
}

/** Chat requests of an agent whose answer ended a turn (a text reply). */
export function turnsEnded(stack: Stack, agentId: string): number {
  return (stack.fakeLlm?.chatRequests(agentId) ?? []).filter((r) => r.answer.type === 'text').length;
}

export interface ToolOutcome {
  name: string;
  code: string | null;
  content: string;
}

/** Every gt_* / bash tool result the agent's model saw, in order, with its failure code (null: success). */
export function toolOutcomes(stack: Stack, agentId: string): ToolOutcome[] {
  return stack.fakeLlm!.toolResults(agentId).map((r) => ({ name: r.name ?? '?', code: failureCodeOf(r), content: r.content.slice(0, 200) }));
}

export async function runtimeOf(stack: Stack, townId: string, agentId: string): Promise<AgentRuntimeStatus> {
  const res = await stack.host.container(townId, 'GET', '/agents');
  if (res.status !== 200) throw new Error(`GET /agents answered ${res.status}`);
  const runtime = AgentRuntimeListSchema.parse(res.body).agents.find((a) => a.agentId === agentId);
  if (!runtime) throw new Error(`the container does not run agent ${agentId}`);
  return runtime;
}

export async function eventsOf(api: UserApi, townId: string, type: string, agentId?: string): Promise<TownEvent[]> {
  return (await api.allEvents(townId)).filter((e) => e.type === type && (agentId === undefined || e.agentId === agentId));
}

/** Send a message and wait until the mayor's turn ended (n = number of turns ended so far + 1). */
export async function mayorTurn(h: FaultHarness, townId: string, mayorId: string, text: string, timeoutMs = 120_000): Promise<void> {
  const before = turnsEnded(h.stack, mayorId);
  const sent = await h.api.sendMayorMessage(townId, text);
  if (sent.delivery === 'failed') throw new Error(`message to the mayor of ${townId} failed: ${JSON.stringify(sent.mayor.statusLine)}`);
  await waitFor(() => turnsEnded(h.stack, mayorId) > before, {
    timeoutMs,
    what: `the mayor's answer to "${text}"`,
    describe: async () => describeAgents(await h.api.agents(townId)),
  });
}

export async function waitMayor(h: FaultHarness, townId: string, what: string, ok: (m: Agent) => boolean, timeoutMs = 90_000): Promise<Agent> {
  return waitFor(
    async () => {
      const m = (await h.api.agents(townId)).find((a) => a.role === 'mayor');
      return m && ok(m) ? m : null;
    },
    { timeoutMs, what, describe: async () => describeAgents(await h.api.agents(townId)) },
  );
}

/** Lines of the worker's request log for this town answered 401. */
export function unauthorizedRequests(stack: Stack, townId: string): string[] {
  return stack.logs
    .read(stack.logs.worker)
    .split('\n')
    .filter((l) => l.includes(`/towns/${townId}/`) && / 401 /.test(l));
}
