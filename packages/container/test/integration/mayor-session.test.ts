/**
 * The mayor's durable conversation, end to end in one process tree: the container (real
 * `opencode serve` agents, sandboxed as in production when the tests run as root), the HTTP fake
 * control plane storing snapshots, and the scripted fake LLM.
 *
 * - Three messages, the container drains (SIGTERM path), a new container on a fresh disk starts
 *   the mayor again: a new process continues the same session, and the model's first request
 *   carries the whole earlier conversation.
 * - A message is in the stored snapshot when `deliver` returns; no planted secret is stored.
 * - A corrupt stored snapshot: a fresh session, `session.restore_failed` snapshot_corrupt, running.
 * - The control plane failing the save: the message is still delivered, `session.save_failed`.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent, AgentIdentity, AgentRuntimeStatus, SessionSnapshot } from '@gastown/protocol';
import { startFakeControlPlane, type FakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import { messageText, reply, startFakeLlm, type FakeLlm, type RecordedRequest } from '@gastown/testkit/fake-llm/index';
import { loadConfig, loadSandboxConfig } from '../../src/config';
import { startContainer, type ContainerHandle } from '../../src/main';
import { decodeSnapshot } from '../../src/session';

const KEY = 'mayor-session-container-key-0123456789';
const PROVIDER_KEY = 'sk-provider-secret-mayor-session-0123456789';
/** A town secret: registered with the container's secret registry like every town env value. */
const PLANTED = 'planted-town-secret-93c1f0aa77e4';
const MAYOR: AgentIdentity = { id: 'ag_mayorses01', townId: 'town_session01', rigId: null, userId: 'user-1', role: 'mayor', name: 'mayor', gen: 1 };
const WAIT_MS = 60_000;

interface World {
  cp: FakeControlPlane;
  llm: FakeLlm;
  dir: string;
  containers: Array<{ handle: ContainerHandle; logs: string[] }>;
}
let world: World | null = null;

afterEach(async () => {
  if (!world) return;
  for (const { handle } of world.containers) await handle.stop();
  await Promise.all([world.cp.stop(), world.llm.stop()]);
  await rm(world.dir, { recursive: true, force: true });
  world = null;
}, 90_000);

async function setup(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'gt-mayor-session-'));
  // agent uids pass through to their own dirs below the data dirs (sandboxed runs)
  await chmod(dir, 0o711);
  const cp = await startFakeControlPlane({ tokenTtlSeconds: 600 });
  const llm = await startFakeLlm({ apiKey: PROVIDER_KEY, title: 'Mayor session test' });
  world = { cp, llm, dir, containers: [] };
  return world;
}

/** A container on a disk of its own (a new container after sleep or deploy has a fresh one). */
async function container(w: World): Promise<{ handle: ContainerHandle; logs: string[] }> {
  const n = w.containers.length + 1;
  const logs: string[] = [];
  const config = loadConfig({
    GASTOWN_CONTAINER_KEY: KEY,
    CONTAINER_PORT: '0',
    GASTOWN_BIND_LOOPBACK: '1',
    GASTOWN_DATA_DIR: join(w.dir, `data-${n}`),
    GASTOWN_INSTANCE_ID: `ci_session${n}`,
    TOWN_ENV_OPENAI_API_KEY: PROVIDER_KEY,
    TOWN_ENV_PLANTED_SECRET: PLANTED,
  });
  const handle = await startContainer(config, { stream: { write: (line: string) => logs.push(line) }, sandbox: loadSandboxConfig(process.env) });
  const entry = { handle, logs };
  w.containers.push(entry);
  return entry;
}

async function startMayor(w: World, c: ContainerHandle, gen: number): Promise<AgentRuntimeStatus> {
  const agent = { ...MAYOR, gen };
  return c.supervisor.start({
    agent,
    controlPlaneUrl: w.cp.url,
    credentials: await w.cp.issueCredentials(agent),
    runtime: { kind: 'opencode', provider: { kind: 'openai-compatible', baseUrl: w.llm.url, model: 'fake-model', apiKeyEnvVar: 'OPENAI_API_KEY' } },
    rig: null,
    bead: null,
    instructions: 'You are the mayor of a test town.',
    prompt: null,
  });
}

async function until(what: string, check: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Deliver a message and wait until the mayor has answered it (waiting again). */
async function say(c: ContainerHandle, text: string): Promise<number> {
  const t0 = Date.now();
  await c.supervisor.deliver(MAYOR.id, { text });
  const deliverMs = Date.now() - t0;
  await until(`the mayor to answer "${text}"`, () => c.supervisor.status(MAYOR.id).activity === 'waiting');
  return deliverMs;
}

async function stored(w: World): Promise<SessionSnapshot> {
  const copy = w.cp.storedSession(MAYOR.id);
  if (!copy) throw new Error('nothing stored');
  return decodeSnapshot(copy.bytes, copy.sha256, { runtime: 'opencode' });
}

function userTexts(snapshot: SessionSnapshot): string[] {
  return snapshot.messages
    .filter((m) => m.info.role === 'user')
    .map((m) => m.parts.map((p) => (p.type === 'text' && typeof p['text'] === 'string' ? p['text'] : '')).join(''));
}

function eventsOf(w: World, type: string): AgentEvent[] {
  return w.cp.events.filter((e) => e.agentId === MAYOR.id && e.event.type === type).map((e) => e.event);
}

/** The conversation a model request carried, as `role: text` lines (system prompt left out). */
function conversation(request: RecordedRequest): string[] {
  return request.messages.filter((m) => m.role === 'user' || m.role === 'assistant').map((m) => `${m.role}: ${messageText(m)}`);
}

/** `ms` of every `session.saved` log line. */
function saveTimes(logs: string[]): number[] {
  return logs
    .map((line) => JSON.parse(line) as { msg?: string; ms?: number })
    .filter((l) => l.msg === 'session.saved' && typeof l.ms === 'number')
    .map((l) => l.ms!);
}

describe('the mayor keeps its conversation across processes and containers', () => {
  it('three messages, the container drains, a new container continues the same session with the whole conversation', async () => {
    const w = await setup();
    const a = await container(w);
    w.llm.setScript(MAYOR.id, [reply('Noted one.'), reply('Noted two.'), reply('Noted three.')]);
    const first = await startMayor(w, a.handle, 1);
    expect(eventsOf(w, 'session.restored')).toEqual([]);
    const deliverMs: number[] = [];
    for (const text of ['Message one.', 'Message two.', 'Message three.']) deliverMs.push(await say(a.handle, text));

    // SIGTERM: the container drains; the mayor's last save says so
    await a.handle.stop();
    const saved = await stored(w);
    expect(w.cp.storedSession(MAYOR.id)!.meta).toMatchObject({ reason: 'drain', turns: 3, messages: 6, sessionId: first.sessionId });
    expect(userTexts(saved)).toEqual(['Message one.', 'Message two.', 'Message three.']);

    const b = await container(w);
    w.llm.setScript(MAYOR.id, [reply('Noted four.')]);
    const mark = w.llm.chatRequests(MAYOR.id).length;
    const second = await startMayor(w, b.handle, 2);
    expect(second.pid).not.toBeNull();
    expect(second.pid).not.toBe(first.pid);
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.runtimeState).toBe('idle');
    await until('session.restored', () => eventsOf(w, 'session.restored').length > 0);
    const restored = eventsOf(w, 'session.restored')[0]!;
    expect(restored.data).toMatchObject({ sessionId: first.sessionId, turns: 3, messages: 6, bytes: w.cp.storedSession(MAYOR.id)!.bytes.length });

    await say(b.handle, 'Message four.');
    const request = w.llm.chatRequests(MAYOR.id)[mark]!;
    expect(conversation(request)).toEqual([
      'user: Message one.',
      'assistant: Noted one.',
      'user: Message two.',
      'assistant: Noted two.',
      'user: Message three.',
      'assistant: Noted three.',
      'user: Message four.',
    ]);
    expect(request.headers['x-session-id']).toBe(first.sessionId);

    const saves = saveTimes([...a.logs, ...b.logs]);
    console.info(
      `[mayor-session metrics] restore ${String(restored.data.ms)} ms (import ${String(restored.data.importMs)} ms), ` +
        `deliver incl. save ${deliverMs.join('/')} ms, saves ${saves.length}: ${saves.join('/')} ms, snapshot ${restored.data.bytes} B`,
    );
  }, 240_000);

  it('a message is in the stored snapshot when deliver returns; no planted secret is ever stored', async () => {
    const w = await setup();
    const { handle } = await container(w);
    // the answer comes late: only the message save can have stored the message by then
    w.llm.setScript(MAYOR.id, [{ ...reply(`I will keep ${PLANTED} for you.`), delayMs: 2_000 }]);
    await startMayor(w, handle, 1);
    const text = `Please remember ${PLANTED} for me.`;
    await handle.supervisor.deliver(MAYOR.id, { text });
    const atReturn = await stored(w);
    expect(w.cp.storedSession(MAYOR.id)!.meta.reason).toBe('message');
    const said = userTexts(atReturn);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^Please remember \[redacted:[0-9a-f]{8}\] for me\.$/);

    await until('the answer', () => handle.supervisor.status(MAYOR.id).activity === 'waiting');
    await until('the waiting save', () => w.cp.storedSession(MAYOR.id)!.meta.reason === 'waiting');
    const raw = gunzipSync(w.cp.storedSession(MAYOR.id)!.bytes).toString('utf8');
    expect(raw).toContain('I will keep [redacted:');
    expect(raw).not.toContain(PLANTED);
    expect(raw).not.toContain(PROVIDER_KEY);
    expect(JSON.stringify(w.cp.events)).not.toContain(PLANTED);
  }, 180_000);

  it.each([
    { name: 'the store finds its copy corrupt (422)', how: 'store' as const },
    { name: 'the bytes are not a snapshot', how: 'content' as const },
  ])(
    'a corrupt stored snapshot ($name) → a fresh session, session.restore_failed snapshot_corrupt, the mayor runs',
    async ({ how }) => {
      const w = await setup();
      const { handle } = await container(w);
      w.llm.setScript(MAYOR.id, [reply('Noted.'), reply('Fresh start.')]);
      const first = await startMayor(w, handle, 1);
      await say(handle, 'Remember this.');
      await handle.supervisor.stop(MAYOR.id, { reason: 'test' });
      expect(w.cp.storedSession(MAYOR.id)!.meta.reason).toBe('stop');
      w.cp.corruptSession(MAYOR.id, how);

      const second = await startMayor(w, handle, 2);
      expect(second).toMatchObject({ runtimeState: 'idle', activity: 'waiting' });
      expect(second.sessionId).not.toBe(first.sessionId);
      await until('session.restore_failed', () => eventsOf(w, 'session.restore_failed').length > 0);
      expect(eventsOf(w, 'session.restore_failed')[0]!.data).toMatchObject({ code: 'snapshot_corrupt', message: expect.any(String) });
      expect(eventsOf(w, 'session.restored')).toEqual([]);

      const mark = w.llm.chatRequests(MAYOR.id).length;
      await say(handle, 'Hello again.');
      expect(conversation(w.llm.chatRequests(MAYOR.id)[mark]!)).toEqual(['user: Hello again.']);
      // the next save replaces the corrupt copy
      expect(userTexts(await stored(w))).toEqual(['Hello again.']);
    },
    180_000,
  );

  it('the control plane failing the save (503): the message is still delivered, session.save_failed is recorded', async () => {
    const w = await setup();
    const { handle } = await container(w);
    w.llm.setScript(MAYOR.id, [reply('Got it.')]);
    await startMayor(w, handle, 1);
    w.cp.failNextWith('control_plane_unavailable', { route: 'session' });
    const status = await handle.supervisor.deliver(MAYOR.id, { text: 'Are you there?' });
    expect(status.runtimeState).not.toBe('failed');
    expect(w.cp.storedSession(MAYOR.id)).toBeNull();
    await until('the answer', () => handle.supervisor.status(MAYOR.id).activity === 'waiting');
    expect(conversation(w.llm.chatRequests(MAYOR.id)[0]!)).toEqual(['user: Are you there?']);
    await until('session.save_failed', () => eventsOf(w, 'session.save_failed').length > 0);
    expect(eventsOf(w, 'session.save_failed')[0]!.data).toEqual({ reason: 'message', code: 'control_plane_unavailable' });
    // the next save (the mayor went waiting) stores the conversation
    await until('the waiting save', () => w.cp.storedSession(MAYOR.id) !== null);
    expect(userTexts(await stored(w))).toEqual(['Are you there?']);
  }, 180_000);
});
