/**
 * An anthropic-kind provider, end to end in real processes: `opencode serve` / `kilo serve`
 * configured with `@ai-sdk/anthropic` (bundled in both binaries: nothing is installed) talks to
 * the container's REAL broker API with its broker key in `x-api-key`; the broker's model proxy
 * forwards to the fake LLM's Anthropic Messages endpoint with the provider key, measures every
 * call and, once the run is to stop after its turn, refuses the next model call with 402 — which
 * the runtime does not retry.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AgentIdentity, ModelUsageRecord, RuntimeKind } from '@gastown/protocol';
import { callTool, fingerprint, reply, startFakeLlm, type FakeLlm } from '@gastown/testkit/fake-llm/index';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBrokerApi, type BrokerApi } from '../../src/broker-api/app';
import { startBrokerServer, type BrokerServer } from '../../src/broker-api/server';
import type { ControlPlaneClient } from '../../src/broker/control-plane-client';
import { loadSandboxConfig } from '../../src/config';
import type { Logger, RuntimeEvent } from '../../src/contracts';
import { createRuntimeFactory } from '../../src/runtime/factory';
import type { ServeRuntime } from '../../src/runtime/serve-runtime';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox';
import { nextEvent } from './next-event';

const run = promisify(execFile);
const PROVIDER_KEY = 'sk-ant-provider-key-0123456789';
const MODEL = 'claude-test-large';
const SMALL_MODEL = 'claude-test-small';
const CANNED_RIGS = { rigs: [{ id: 'rig_demo0001', name: 'demo' }] };
const KINDS: Array<{ kind: RuntimeKind; id: string }> = [
  { kind: 'opencode', id: 'ag_amayor001' },
  { kind: 'kilo', id: 'ag_akmayor01' },
];

const scratch = mkdtempSync(join(tmpdir(), 'gt-runtime-anthropic-'));
const pluginPath = join(scratch, 'toolchain', 'gastown-plugin.js');
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
let llm: FakeLlm;
let api: BrokerApi;
let server: BrokerServer;
let sandbox: Sandbox;
const created: ServeRuntime[] = [];

/** Tool calls reach this "control plane" through the broker. */
function toolClient(calls: string[]): ControlPlaneClient {
  return {
    tool: async (name: string) => {
      calls.push(name);
      return name === 'list_rigs' ? CANNED_RIGS : { ok: true };
    },
  } as unknown as ControlPlaneClient;
}

function agent(id: string): AgentIdentity {
  return { id, townId: 'town_test01', rigId: null, userId: 'user-1', role: 'mayor', name: 'mayor', gen: 1 };
}

beforeAll(async () => {
  await run(process.execPath, [fileURLToPath(new URL('../../../plugin/build.mjs', import.meta.url)), '--outfile', pluginPath]);
  sandbox = await createSandbox({ ...loadSandboxConfig(process.env), rootDir: scratch, logger: silent });
  llm = await startFakeLlm({ apiKey: PROVIDER_KEY, title: 'Anthropic session' });
  api = createBrokerApi({ logger: silent, fetch, townEnv: { ANTHROPIC_API_KEY: PROVIDER_KEY } });
  server = await startBrokerServer(api);
}, 60_000);

afterAll(async () => {
  await Promise.all(created.map((runtime) => runtime.stop()));
  await server?.close();
  await llm?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe.each(KINDS)('$kind with an anthropic provider through the broker model proxy', ({ kind, id }) => {
  it('speaks Anthropic Messages with x-api-key, runs a scripted tool call, is metered, and stops at a refused call', async () => {
    const toolCalls: string[] = [];
    const usage: ModelUsageRecord[] = [];
    let refuse = false;
    let refusals = 0;
    const provider = { kind: 'anthropic' as const, baseUrl: llm.url, apiKeyEnvVar: 'ANTHROPIC_API_KEY' };
    const brokerKey = api.registerAgent(id, {
      client: toolClient(toolCalls),
      provider,
      models: [MODEL, SMALL_MODEL],
      onUsage: (record) => usage.push(record),
      refuseModelCalls: () => refuse,
      onModelCallRefused: () => {
        refusals += 1;
      },
    });
    llm.setScript(id, [callTool('gt_list_rigs', {}), reply('You have one rig: demo.')]);
    const workdir = join(scratch, id, 'work');
    mkdirSync(workdir, { recursive: true });
    const runtime = createRuntimeFactory({ sandbox })({
      kind,
      agent: agent(id),
      workdir,
      stateDir: join(scratch, id, 'state'),
      brokerUrl: server.url,
      brokerKey,
      provider,
      model: MODEL,
      smallModel: SMALL_MODEL,
      pluginPath,
      instructions: 'You are the mayor of a test town.',
      logger: silent,
    }) as ServeRuntime;
    created.push(runtime);
    const events: RuntimeEvent[] = [];
    runtime.onEvent((e) => events.push(e));
    await runtime.start();
    const sessionId = runtime.sessionId!;

    // ---- one turn: a tool call through the plugin and broker, then the final text
    await runtime.prompt('Which rigs do I have?');
    await nextEvent(runtime, events, (e) => e.type === 'session.idle', 0);
    expect(toolCalls).toEqual(['list_rigs']);
    expect(events).toContainEqual(expect.objectContaining({ type: 'tool', tool: 'gt_list_rigs', state: 'completed', output: JSON.stringify(CANNED_RIGS) }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'text', sessionId, text: 'You have one rig: demo.', final: true }));
    const seen = llm.toolResults(id);
    expect(seen.map((r) => r.name)).toEqual(['gt_list_rigs']);
    expect(JSON.parse(seen[0]!.content)).toEqual(CANNED_RIGS);

    // ---- on the wire: Anthropic Messages, the provider key in x-api-key, never the broker key
    const requests = llm.requests.filter((r) => r.agentId === id);
    const chats = requests.filter((r) => r.kind === 'chat');
    expect(chats).toHaveLength(2);
    expect(requests.every((r) => r.wire === 'anthropic-messages' && r.path === '/v1/messages')).toBe(true);
    expect(requests.every((r) => r.keyFingerprint === fingerprint(PROVIDER_KEY) && r.headers.authorization === undefined)).toBe(true);
    expect(requests.every((r) => r.headers['anthropic-version'] === '2023-06-01')).toBe(true);
    // the session is created with a title, so no title request names the small model
    expect(requests.every((r) => r.model === MODEL)).toBe(true);
    expect(JSON.stringify(requests.map((r) => r.headers))).not.toContain(brokerKey);

    // ---- every call measured, with the fake LLM's own token counts
    await vi.waitFor(() => expect(usage).toHaveLength(requests.length));
    expect(usage.every((u) => u.providerKind === 'anthropic' && u.status === 200 && u.errorCode === null)).toBe(true);
    const sum = (key: 'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheWriteTokens') => usage.reduce((n, u) => n + u[key], 0);
    expect({
      inputTokens: sum('inputTokens'),
      outputTokens: sum('outputTokens'),
      cacheReadTokens: sum('cacheReadTokens'),
      cacheWriteTokens: sum('cacheWriteTokens'),
    }).toEqual(llm.totalUsage({ agentId: id }));

    // ---- stop after the turn: the next model call is refused once, not retried, and never reaches the provider
    refuse = true;
    const before = llm.requests.filter((r) => r.agentId === id && r.kind === 'chat').length;
    const mark = events.length;
    await runtime.prompt('And now?');
    await nextEvent(runtime, events, (e) => e.type === 'session.idle', mark);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // a retry would come within this
    expect(refusals).toBe(1);
    expect(llm.requests.filter((r) => r.agentId === id && r.kind === 'chat')).toHaveLength(before);
    expect(events.slice(mark)).toContainEqual(expect.objectContaining({ type: 'error', message: expect.stringContaining('spend_cap_reached') }));
    expect(runtime.pid).not.toBeNull();

    await runtime.stop();
    api.unregisterAgent(id);
  }, 180_000);
});
