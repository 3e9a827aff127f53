/**
 * Real processes: a conversation exported from one `opencode serve`, encoded and decoded like a
 * stored snapshot, imported as the agent into a second process with a fresh state dir; the model
 * then sees the whole earlier conversation. A bad import gives a fresh session, never a failed
 * start. Commands run as the agent through the run's lease (same uid, HOME, timeout).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AgentIdentity } from '@gastown/protocol';
import { messageText, reply, startFakeLlm, type FakeLlm } from '@gastown/testkit/fake-llm/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSandboxConfig } from '../../src/config';
import type { Logger, RuntimeEvent, RuntimeOptions } from '../../src/contracts';
import { createRuntimeFactory } from '../../src/runtime/factory';
import type { ServeRuntime } from '../../src/runtime/serve-runtime';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox';
import { decodeSnapshot, encodeSnapshot, toImportFile } from '../../src/session';
import { startStubBroker, type StubBroker } from './stub-broker';

const run = promisify(execFile);
const PROVIDER_KEY = 'provider-key-restore-0123456789';
const ID = 'ag_restore001';
const BROKER_KEY = 'broker-key-restore-1';

const scratch = mkdtempSync(join(tmpdir(), 'gt-restore-it-'));
const pluginPath = join(scratch, 'toolchain', 'gastown-plugin.js');
let llm: FakeLlm;
let broker: StubBroker;
let sandbox: Sandbox;
const created: ServeRuntime[] = [];
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

function agent(): AgentIdentity {
  return { id: ID, townId: 'town_test01', rigId: null, userId: 'user-1', role: 'mayor', name: 'mayor', gen: 1 };
}

/** A run of the agent with its own, fresh state dir and workdir (a new container's disk). */
function options(run: string, restore: RuntimeOptions['restore'] = null): RuntimeOptions {
  const workdir = join(scratch, run, 'work');
  mkdirSync(workdir, { recursive: true });
  return {
    kind: 'opencode',
    agent: agent(),
    workdir,
    stateDir: join(scratch, run, 'state'),
    brokerUrl: broker.url,
    brokerKey: BROKER_KEY,
    provider: { kind: 'openai-compatible', baseUrl: 'https://provider.invalid/v1', apiKeyEnvVar: 'OPENAI_API_KEY' },
    model: 'fake-model',
    smallModel: 'fake-model',
    pluginPath,
    instructions: 'You are the mayor of a test town.',
    logger: silent,
    restore,
  };
}

function start(opts: RuntimeOptions): ServeRuntime {
  const runtime = createRuntimeFactory({ sandbox })(opts) as ServeRuntime;
  created.push(runtime);
  return runtime;
}

/** Prompt and wait for the turn to end. */
async function turn(runtime: ServeRuntime, text: string): Promise<void> {
  const idle = new Promise<void>((resolve) => {
    const off = runtime.onEvent((e: RuntimeEvent) => {
      if (e.type !== 'session.idle') return;
      off();
      resolve();
    });
  });
  await runtime.prompt(text);
  await idle;
}

beforeAll(async () => {
  await run(process.execPath, [fileURLToPath(new URL('../../../plugin/build.mjs', import.meta.url)), '--outfile', pluginPath]);
  sandbox = await createSandbox({ ...loadSandboxConfig(process.env), rootDir: scratch, logger: silent });
  llm = await startFakeLlm({ apiKey: PROVIDER_KEY, title: 'Restore test' });
  broker = await startStubBroker({ keys: { [BROKER_KEY]: ID }, llmUrl: llm.url, providerKey: PROVIDER_KEY, toolResult: () => ({ ok: true }) });
}, 60_000);

afterAll(async () => {
  await Promise.all(created.map((runtime) => runtime.stop()));
  await broker?.stop();
  await llm?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('session export and restore (real opencode serve)', () => {
  it('a conversation saved from one process continues in a new one: same session id, the model sees every earlier turn', async () => {
    llm.setScript(ID, [reply('Reply one.'), reply('Reply two.')]);
    const first = start(options('run-1'));
    await first.start();
    expect(first.restoreOutcome).toBeNull();
    await turn(first, 'First question?');
    await turn(first, 'Second question?');
    const exported = await first.exportSession();
    expect(exported.session.id).toBe(first.sessionId);
    expect(exported.messages.map((m) => m.info.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    const encoded = await encodeSnapshot({ runtime: 'opencode', export: exported, savedAt: Date.now(), reason: 'stop', droppedBefore: 0, redact: (s) => s });
    const firstPid = first.pid;
    await first.stop();
    await expect(first.exportSession()).rejects.toMatchObject({ runtimeCode: 'runtime_not_running' });

    const snapshot = await decodeSnapshot(encoded.bytes, encoded.sha256, { runtime: 'opencode' });
    llm.setScript(ID, [reply('Reply three.')]);
    const mark = llm.chatRequests(ID).length;
    const second = start(options('run-2', { sessionId: snapshot.sessionId, importFile: toImportFile(snapshot) }));
    const t0 = Date.now();
    await second.start();
    const startMs = Date.now() - t0;
    expect(second.restoreOutcome).toMatchObject({ ok: true, sessionId: snapshot.sessionId });
    expect(second.sessionId).toBe(snapshot.sessionId);
    expect(second.pid).not.toBe(firstPid);
    // the import file is gone from the agent's TMPDIR
    expect(readdirSync(join(scratch, 'run-2', 'state', 'tmp')).filter((name) => name.startsWith('gastown-restore-'))).toEqual([]);

    await turn(second, 'Third question?');
    const request = llm.chatRequests(ID)[mark]!;
    const said = request.messages.filter((m) => m.role === 'user' || m.role === 'assistant').map((m) => `${m.role}: ${messageText(m)}`);
    expect(said).toEqual(['user: First question?', 'assistant: Reply one.', 'user: Second question?', 'assistant: Reply two.', 'user: Third question?']);
    expect(request.headers['x-session-id']).toBe(snapshot.sessionId);
    const importMs = second.restoreOutcome?.ok ? second.restoreOutcome.importMs : null;
    console.info(
      `[restore metrics] isolation ${second.isolation}, import ${importMs} ms, restored start (import+serve+session) ${startMs} ms, snapshot ${encoded.bytes.byteLength} B gzip / ${encoded.meta.rawBytes} B raw`,
    );
  }, 180_000);

  it('an import the runtime refuses → a fresh session, the start does not fail', async () => {
    const runtime = start(options('run-bad', { sessionId: 'ses_0123456789abcdefABCDEFGHIJ', importFile: '{"info":{"id":"not-a-session"},"messages":[]}' }));
    await runtime.start();
    expect(runtime.restoreOutcome).toMatchObject({ ok: false, error: { runtimeCode: 'runtime_restore_failed' } });
    expect(runtime.sessionId).toMatch(/^ses_/);
    expect(runtime.sessionId).not.toBe('ses_0123456789abcdefABCDEFGHIJ');
    llm.setScript(ID, [reply('Fresh.')]);
    await turn(runtime, 'Anyone there?');
    expect((await runtime.exportSession()).messages).toHaveLength(2);

    // ---- commands as the agent: its uid, its HOME, a timeout, and none once it stopped
    const cwd = join(scratch, 'run-bad', 'work');
    const uid = await runtime.runAsAgent('id', ['-u'], { cwd, timeoutMs: 10_000 });
    expect(uid).toMatchObject({ code: 0, stderr: '' });
    expect(Number(uid.stdout.trim())).toBe(runtime.uid ?? process.getuid!());
    const home = await runtime.runAsAgent('sh', ['-c', 'echo "$HOME:$EXTRA"; exit 3'], { cwd, timeoutMs: 10_000, env: { EXTRA: 'x' } });
    expect(home).toEqual({ code: 3, stdout: `${runtime.home}:x\n`, stderr: '' });
    const leaked = await runtime.runAsAgent('sh', ['-c', `echo ${BROKER_KEY}`], { cwd, timeoutMs: 10_000 });
    expect(leaked.stdout).not.toContain(BROKER_KEY);
    const t0 = Date.now();
    const slow = await runtime.runAsAgent('sleep', ['30'], { cwd, timeoutMs: 300 });
    expect(slow.code).toBeNull();
    expect(Date.now() - t0).toBeLessThan(5_000);
    await expect(runtime.runAsAgent('no-such-command-here', [], { cwd, timeoutMs: 1_000 })).rejects.toMatchObject({ runtimeCode: 'runtime_command_failed' });
    await runtime.stop();
    await expect(runtime.runAsAgent('id', [], { cwd, timeoutMs: 1_000 })).rejects.toMatchObject({ runtimeCode: 'runtime_not_running' });
  }, 120_000);
});
