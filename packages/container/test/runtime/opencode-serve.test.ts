/**
 * Real processes: a stub broker, the scripted fake LLM and a real `opencode serve` / `kilo serve`
 * loading the bundled plugin. Proves the tool path (plugin → broker with the agent's key), the
 * LLM path (broker proxy → fake LLM), one session across prompts, a clean environment and no
 * orphans — for each runtime kind.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AgentIdentity, RuntimeKind } from '@gastown/protocol';
import { callTool, reply, startFakeLlm, type FakeLlm } from '@gastown/testkit/fake-llm/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSandboxConfig } from '../../src/config';
import type { Logger, RuntimeEvent, RuntimeOptions } from '../../src/contracts';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox';
import { createRuntimeFactory } from '../../src/runtime/factory';
import { FLAVORS } from '../../src/runtime/flavor';
import { RuntimeError } from '../../src/runtime/errors';
import { pidsWithEnv } from '../../src/runtime/serve-process';
import type { ServeRuntime } from '../../src/runtime/serve-runtime';
import { nextEvent } from './next-event';
import { startStubBroker, type StubBroker } from './stub-broker';

const run = promisify(execFile);
/** Each kind's agents have ids of their own (the fake LLM's scripts and the stub broker's keys are per agent). */
const KINDS = [
  { kind: 'opencode' as const, ids: { mayor: 'ag_mayor0001', crash: 'ag_crash0001' } },
  { kind: 'kilo' as const, ids: { mayor: 'ag_kmayor001', crash: 'ag_kcrash001' } },
];
const PROVIDER_KEY = 'provider-key-0123456789';
/** Secrets planted in this process's env: none may reach the agent process. */
const PLANTED: Record<string, string> = {
  GASTOWN_CONTAINER_KEY: 'planted-container-key-5f2a9c',
  OPENAI_API_KEY: 'planted-openai-key-81be44',
  ANTHROPIC_API_KEY: 'planted-anthropic-key-0c77d1',
  GASTOWN_JWT_SECRET: 'planted-jwt-secret-93aa10',
  GITHUB_TOKEN: 'planted-github-token-77e0b2',
};
const CANNED_RIGS = { rigs: [{ id: 'rig_demo0001', name: 'demo', gitUrl: 'https://example.invalid/demo.git', defaultBranch: 'main' }] };

const scratch = mkdtempSync(join(tmpdir(), 'gt-runtime-it-'));
// in a dir of its own: the scratch dir is the sandbox's data dir (traversable, not listable by agent uids)
const pluginPath = join(scratch, 'toolchain', 'gastown-plugin.js');
const saved: Record<string, string | undefined> = {};
let llm: FakeLlm;
let broker: StubBroker;
/** GASTOWN_SANDBOX decides (auto: uid+namespaces when the tests run as root with bwrap). */
let sandbox: Sandbox;
const logLines: string[] = [];
/** Every runtime a test created, stopped in afterAll even when an assertion failed mid-test. */
const created: ServeRuntime[] = [];

function captureLogger(fields: Record<string, unknown> = {}): Logger {
  const write = (level: string) => (msg: string, extra?: Record<string, unknown>) => {
    logLines.push(JSON.stringify({ level, msg, ...fields, ...extra }));
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: (more) => captureLogger({ ...fields, ...more }) };
}

function agent(id: string): AgentIdentity {
  return { id, townId: 'town_test01', rigId: null, userId: 'user-1', role: 'mayor', name: 'mayor', gen: 1 };
}

function options(id: string, brokerKey: string, kind: RuntimeKind = 'opencode'): RuntimeOptions {
  const workdir = join(scratch, id, 'work');
  mkdirSync(workdir, { recursive: true });
  return {
    kind,
    agent: agent(id),
    workdir,
    stateDir: join(scratch, id, 'state'),
    brokerUrl: broker.url,
    brokerKey,
    provider: { kind: 'openai-compatible', baseUrl: 'https://provider.invalid/v1', apiKeyEnvVar: 'OPENAI_API_KEY' },
    model: 'fake-model',
    smallModel: 'fake-model',
    pluginPath,
    instructions: 'You are the mayor of a test town. INSTRUCTIONS-MARKER-4411',
    logger: captureLogger(),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  for (const [name, value] of Object.entries(PLANTED)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  await run(process.execPath, [fileURLToPath(new URL('../../../plugin/build.mjs', import.meta.url)), '--outfile', pluginPath]);
  sandbox = await createSandbox({ ...loadSandboxConfig(process.env), rootDir: scratch, logger: captureLogger() });
  llm = await startFakeLlm({ apiKey: PROVIDER_KEY, title: 'Test session' });
  broker = await startStubBroker({
    keys: Object.fromEntries(
      KINDS.flatMap(({ ids }) => [
        [`broker-key-${ids.mayor}`, ids.mayor],
        [`broker-key-${ids.crash}`, ids.crash],
      ]),
    ),
    llmUrl: llm.url,
    providerKey: PROVIDER_KEY,
    toolResult: (tool) => (tool === 'list_rigs' ? CANNED_RIGS : { ok: true }),
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(created.map((runtime) => runtime.stop()));
  await broker?.stop();
  await llm?.stop();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe.each(KINDS)('$kind serve runtime (real process)', ({ kind, ids }) => {
  const prefix = FLAVORS[kind].envPrefix;

  it('runs a tool call through the plugin and broker, keeps one session, leaks no secret and leaves no process', async () => {
    const id = ids.mayor;
    const brokerKey = `broker-key-${id}`;
    llm.setScript(id, [
      callTool('gt_list_rigs', {}),
      reply('You have one rig: demo.'),
      reply('Still here.'),
      callTool('bash', { command: 'setsid sleep 600 >/dev/null 2>&1 < /dev/null &', description: 'start a detached sleeper' }),
      reply('Started.'),
    ]);
    const factory = createRuntimeFactory({ sandbox });
    const runtime = factory(options(id, brokerKey, kind)) as ServeRuntime;
    created.push(runtime);
    const events: RuntimeEvent[] = [];
    runtime.onEvent((e) => events.push(e));

    const t0 = Date.now();
    await runtime.start();
    const startMs = Date.now() - t0;
    const pid = runtime.pid!;
    const sessionId = runtime.sessionId!;
    expect(pid).toBeGreaterThan(0);
    expect(sessionId).toMatch(/^ses_/);
    const rssAfterStart = runtime.rssBytes();

    // ---- first prompt: gt_list_rigs → broker → result seen by the model → text → idle
    let mark = events.length;
    await runtime.prompt('Which rigs do I have?');
    await nextEvent(runtime, events, (e) => e.type === 'session.idle', mark);

    expect(broker.toolCalls.filter((c) => c.agentId === id)).toEqual([{ tool: 'list_rigs', agentId: id, authorized: true, body: {} }]);
    const results = llm.toolResults(id);
    expect(results).toHaveLength(1);
    expect(results[0]!.name).toBe('gt_list_rigs');
    expect(JSON.parse(results[0]!.content)).toEqual(CANNED_RIGS);

    const turn1 = events.slice(mark);
    expect(turn1[0]).toEqual({ type: 'session.busy', sessionId });
    expect(turn1.filter((e) => e.type === 'tool').map((e) => (e as { state: string }).state)).toEqual(['pending', 'running', 'completed']);
    expect(turn1).toContainEqual(expect.objectContaining({ type: 'tool', tool: 'gt_list_rigs', state: 'completed', output: JSON.stringify(CANNED_RIGS) }));
    expect(turn1).toContainEqual(expect.objectContaining({ type: 'text', sessionId, text: 'You have one rig: demo.', final: true }));
    expect(turn1.at(-1)).toEqual({ type: 'session.idle', sessionId });

    // The model only ever saw the agent's tools and instructions, through the broker proxy.
    const chats = llm.chatRequests(id);
    expect(chats).toHaveLength(2);
    expect(chats[0]!.toolNames).toEqual(expect.arrayContaining(['gt_sling', 'gt_list_rigs', 'gt_list_beads', 'gt_list_agents', 'gt_mail_send']));
    expect(chats[0]!.toolNames).not.toContain('gt_done');
    expect(chats[0]!.toolNames).not.toContain('question');
    expect(JSON.stringify(chats[0]!.messages)).toContain('INSTRUCTIONS-MARKER-4411');
    expect(chats.every((r) => r.headers['x-session-id'] === sessionId)).toBe(true);
    const llmCalls = broker.llmCalls.filter((c) => c.agentId === id);
    expect(llmCalls.length).toBeGreaterThanOrEqual(2);
    expect(llmCalls.every((c) => c.authorized && c.keyHeader === 'authorization' && c.path === '/broker/llm/v1/chat/completions')).toBe(true);
    expect(broker.llmCalls.filter((c) => !c.authorized)).toEqual([]);

    // ---- second prompt: same process, same session
    mark = events.length;
    await runtime.prompt('Are you still there?');
    await nextEvent(runtime, events, (e) => e.type === 'session.idle', mark);
    expect(runtime.pid).toBe(pid);
    expect(runtime.sessionId).toBe(sessionId);
    expect(events.slice(mark)).toContainEqual(expect.objectContaining({ type: 'text', sessionId, text: 'Still here.', final: true }));
    expect(llm.chatRequests(id).at(-1)!.headers['x-session-id']).toBe(sessionId);

    // ---- the agent process's environment: broker coordinates only, no planted secret
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    const envMap = Object.fromEntries(environ.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    for (const [name, value] of Object.entries(PLANTED)) {
      expect(environ.join('\n'), `planted ${name} leaked`).not.toContain(value);
    }
    expect(envMap.GASTOWN_AGENT_KEY).toBe(brokerKey);
    expect(envMap.GASTOWN_BROKER_URL).toBe(broker.url);
    expect(envMap.HOME).toBe(runtime.home);
    expect(
      Object.keys(envMap)
        .filter((k) => /KEY|SECRET|TOKEN|PASSWORD/.test(k))
        .sort(),
    ).toEqual(['GASTOWN_AGENT_KEY', `${prefix}_SERVER_PASSWORD`]);

    // ---- a descendant that escapes the process group (setsid) is still found by its HOME
    mark = events.length;
    await runtime.prompt('Start a background sleeper.');
    await nextEvent(runtime, events, (e) => e.type === 'session.idle', mark);
    expect(events.slice(mark)).toContainEqual(expect.objectContaining({ type: 'tool', tool: 'bash', state: 'completed' }));
    const strays = pidsWithEnv(`HOME=${runtime.home}`).filter((p) => p !== pid);
    expect(strays.length).toBeGreaterThanOrEqual(1);

    const rss = runtime.rssBytes();
    const listeningMs = runtime.listeningMs;

    // ---- stop: the process and every descendant are gone
    const exit = nextEvent(runtime, events, (e) => e.type === 'exit', 0, 15_000);
    const s0 = Date.now();
    await runtime.stop();
    const stopMs = Date.now() - s0;
    await expect(exit).resolves.toMatchObject({ type: 'exit' });
    expect(alive(pid)).toBe(false);
    expect(pidsWithEnv(`HOME=${runtime.home}`)).toEqual([]);
    await expect(runtime.prompt('hello?')).rejects.toMatchObject({ runtimeCode: 'runtime_not_running' });

    // ---- nothing secret in what the runtime logged
    const logged = logLines.join('\n');
    expect(logged).not.toContain(brokerKey);
    for (const value of Object.values(PLANTED)) expect(logged).not.toContain(value);

    console.info(
      `[runtime metrics] ${kind}: isolation ${runtime.isolation}, listening ${listeningMs} ms, start (listening+events+session) ${startMs} ms, ` +
        `RSS after start ${((rssAfterStart ?? 0) / 2 ** 20).toFixed(0)} MiB, after 3 turns ${((rss ?? 0) / 2 ** 20).toFixed(0)} MiB, stop ${stopMs} ms`,
    );
  }, 180_000);

  it("surfaces a failed model request as an error, reports 'exit' when the process dies, refuses prompts afterwards", async () => {
    const runtime = createRuntimeFactory({ sandbox })(options(ids.crash, `broker-key-${ids.crash}`, kind)) as ServeRuntime;
    created.push(runtime);
    const events: RuntimeEvent[] = [];
    runtime.onEvent((e) => events.push(e));
    llm.setScript(ids.crash, [{ type: 'error', status: 503, message: 'upstream overloaded' }, reply('Recovered.')]);
    await runtime.start();
    const pid = runtime.pid!;
    await runtime.prompt('hello');
    await nextEvent(runtime, events, (e) => e.type === 'session.idle', 0);
    const errors = events.filter((e) => e.type === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      sessionId: runtime.sessionId,
      message: expect.stringMatching(/^model request failed, retrying \(attempt 1\): .*overloaded/),
    });
    expect(events).toContainEqual(expect.objectContaining({ type: 'text', text: 'Recovered.', final: true }));

    const exit = nextEvent(runtime, events, (e) => e.type === 'exit', 0, 15_000);
    process.kill(pid, 'SIGKILL');
    await expect(exit).resolves.toEqual({ type: 'exit', code: null, signal: 'SIGKILL' });
    await expect(runtime.prompt('anyone?')).rejects.toMatchObject({ runtimeCode: 'runtime_not_running' });
    await runtime.stop();
    expect(pidsWithEnv(`HOME=${runtime.home}`)).toEqual([]);
  }, 120_000);
});

describe('runtime start failures', () => {
  it.each([
    { name: 'a missing kilo binary', kind: 'kilo' as const, binaries: {}, code: 'runtime_binary_missing' },
    { name: 'a binary that exits at once', kind: 'opencode' as const, binaries: { opencode: '/bin/false' }, code: 'runtime_exited' },
    { name: 'a binary that cannot be spawned', kind: 'opencode' as const, binaries: { opencode: join(scratch, 'nope') }, code: 'runtime_spawn_failed' },
  ])('start fails with $code for $name', async ({ kind, binaries, code }) => {
    const empty = mkdtempSync(join(scratch, 'resolve-'));
    const runtime = createRuntimeFactory({ binaries, resolveFrom: empty, sandbox })({ ...options('ag_fail0001', 'k'), kind });
    const error = await runtime.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RuntimeError);
    expect((error as RuntimeError).runtimeCode).toBe(code);
    expect(runtime.pid === null || !alive(runtime.pid)).toBe(true);
  });
});
