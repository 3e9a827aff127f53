/**
 * The container's promise, end to end in one process tree: a real `opencode serve` (and, the
 * same way, `kilo serve`) agent whose
 * tool calls go plugin → local broker → a REAL HTTP fake control plane minting 3-second tokens,
 * driven by the scripted fake LLM to call a tool every ~2 s for 60 s (20 token lifetimes).
 *
 * - With the broker as built: the control plane sees zero requests with an expired token, every
 *   tool result the model saw is a success, and the runtime's pid and session never change.
 * - The same run with the broker's refresh switched off fails (the test can fail): a token that
 *   is not refreshed is caught.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONTAINER_KEY_HEADER, type AgentIdentity, type AgentRuntimeStatus, type RuntimeKind, type StartAgentRequest } from '@gastown/protocol';
import { startFakeControlPlane, type FakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import { callTool, reply, startFakeLlm, type FakeLlm } from '@gastown/testkit/fake-llm/index';
import { loadConfig } from '../../src/config';
import { startContainer, type ContainerHandle, type StartContainerOptions } from '../../src/main';

const KEY = 'long-run-container-key-0123456789';
const PROVIDER_KEY = 'sk-provider-secret-long-run-0123456789';
const TTL_SECONDS = 3;
const RUN_MS = 60_000;
const CALL_EVERY_MS = 2_000;

const MAYOR: AgentIdentity = { id: 'ag_longrun01', townId: 'town_longrun1', rigId: null, userId: 'user-1', role: 'mayor', name: 'mayor', gen: 1 };

interface World {
  cp: FakeControlPlane;
  llm: FakeLlm;
  container: ContainerHandle;
  logs: string[];
  dir: string;
}
let world: World | null = null;

afterEach(async () => {
  if (!world) return;
  await world.container.stop();
  await Promise.all([world.cp.stop(), world.llm.stop()]);
  await rm(world.dir, { recursive: true, force: true });
  world = null;
  // with refresh off, the stopping agent's final reports fail with credentials_expired and are
  // retried with backoff before the container gives up on them: allow for that
}, 90_000);

async function setup(overrides: Pick<StartContainerOptions, 'brokerRefresh'> = {}): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'gt-long-run-'));
  const cp = await startFakeControlPlane({ tokenTtlSeconds: TTL_SECONDS });
  // Call gt_list_rigs every ~2 s until 60 s have passed since the agent's first model request,
  // then answer with text (one long turn). Counted from that request, not from here: a runtime
  // that is slow to start (kilo on a loaded machine: ~25 s) still gets its 60 s of tool calls.
  let started: number | null = null;
  const llm = await startFakeLlm({
    responder: () => {
      started ??= Date.now();
      return Date.now() - started < RUN_MS ? { ...callTool('gt_list_rigs'), delayMs: CALL_EVERY_MS } : reply('done');
    },
  });
  const logs: string[] = [];
  const config = loadConfig({
    GASTOWN_CONTAINER_KEY: KEY,
    CONTAINER_PORT: '0',
    GASTOWN_BIND_LOOPBACK: '1',
    GASTOWN_DATA_DIR: join(dir, 'data'),
    GASTOWN_INSTANCE_ID: 'ci_longrun',
    GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '5',
    TOWN_ENV_OPENAI_API_KEY: PROVIDER_KEY,
  });
  const container = await startContainer(config, { stream: { write: (line: string) => logs.push(line) }, ...overrides });
  world = { cp, llm, container, logs, dir };
  return world;
}

async function control(w: World, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${w.container.url}${path}`, {
    method,
    headers: { [CONTAINER_KEY_HEADER]: KEY, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function startMayor(w: World, kind: RuntimeKind = 'opencode'): Promise<{ initial: StartAgentRequest; status: AgentRuntimeStatus }> {
  const initial: StartAgentRequest = {
    agent: MAYOR,
    controlPlaneUrl: w.cp.url,
    credentials: await w.cp.issueCredentials(MAYOR),
    runtime: { kind, provider: { kind: 'openai-compatible', baseUrl: w.llm.url, model: 'fake-model', apiKeyEnvVar: 'OPENAI_API_KEY' } },
    rig: null,
    bead: null,
    instructions: 'You are the mayor of a test town.',
    prompt: 'List the rigs every two seconds for a minute.',
  };
  const res = await control(w, 'POST', '/agents', initial);
  expect(res.status).toBe(200);
  return { initial, status: (await res.json()) as AgentRuntimeStatus };
}

async function status(w: World): Promise<AgentRuntimeStatus> {
  return (await (await control(w, 'GET', `/agents/${MAYOR.id}`)).json()) as AgentRuntimeStatus;
}

/** Wait until the model has answered its final text (the 60 s are over) or the turn stalls. */
async function runToEnd(w: World): Promise<void> {
  await w.llm.waitFor((reqs) => reqs.some((r) => r.agentId === MAYOR.id && r.answer.type === 'text' && r.kind === 'chat'), RUN_MS + 60_000);
}

describe.each(['opencode', 'kilo'] as const)('a real %s agent against a real HTTP control plane with 3 s tokens, for 60 s', (kind) => {
  it('never presents an expired token, every tool call succeeds, same process and session', async () => {
    const w = await setup();
    const { initial, status: first } = await startMayor(w, kind);
    expect(first.pid).not.toBeNull();
    expect(first.sessionId).not.toBeNull();
    await runToEnd(w);

    const toolRequests = w.cp.requestsFor('tool');
    const seen = w.llm.toolResults(MAYOR.id);
    const last = await status(w);
    const refreshes = w.cp.requestsFor('refresh').filter((r) => r.status === 200).length;
    console.log(
      `[long-run] ${kind}: tool calls=${toolRequests.length} tool results seen=${seen.length} refreshes=${refreshes} heartbeats=${w.cp.heartbeats.length}`,
    );

    expect(toolRequests.length).toBeGreaterThanOrEqual(20); // ≥ 20 calls over ≥ 20 token lifetimes
    expect(toolRequests.filter((r) => r.auth !== 'valid')).toEqual([]);
    expect(w.cp.requests.filter((r) => r.auth === 'expired')).toEqual([]);
    expect(seen.length).toBe(toolRequests.length);
    expect(seen.filter((r) => /failed|error/i.test(r.content))).toEqual([]);
    expect(refreshes).toBeGreaterThanOrEqual(RUN_MS / (TTL_SECONDS * 1000)); // ~one per half-life
    expect(last.pid).toBe(first.pid);
    expect(last.sessionId).toBe(first.sessionId);
    expect(last.credential.unauthorizedCount).toBe(0);

    // the agent process's environment holds no control-plane credential and no provider key
    const environ = await readFile(`/proc/${first.pid}/environ`, 'latin1');
    expect(environ).not.toContain(initial.credentials.accessToken);
    expect(environ).not.toContain(initial.credentials.refreshCredential);
    expect(environ).not.toContain(PROVIDER_KEY);
    expect(environ).not.toContain(KEY);
    // nor do the container's logs
    const logText = w.logs.join('');
    expect(logText).not.toContain(initial.credentials.accessToken);
    expect(logText).not.toContain(initial.credentials.refreshCredential);
    expect(logText).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./);
    expect(logText).not.toContain(PROVIDER_KEY);
  }, 240_000);
});

describe('the long run can fail', () => {
  it('the same run with the broker refresh switched off fails: the test can catch a token that is not refreshed', async () => {
    const w = await setup({ brokerRefresh: { scheduled: false, reactive: false } });
    await startMayor(w);
    await runToEnd(w);
    const seen = w.llm.toolResults(MAYOR.id);
    // after the first 3 s every call fails with a typed credentials_expired: nothing reaches the control plane
    expect(seen.filter((r) => /credentials_expired/.test(r.content)).length).toBeGreaterThan(0);
    expect(w.cp.requestsFor('refresh')).toHaveLength(0);
  }, 240_000);
});
