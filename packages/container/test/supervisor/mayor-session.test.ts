/**
 * The mayor's session saves and restore, with fakes: saves are serialised and coalesced, a
 * failed save never fails its caller, a message save waits for the message, a restore failure
 * of any kind is an event and a fresh session, and what is stored is redacted.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { GastownError, type SessionSaveReason, type SessionSnapshotRecord } from '@gastown/protocol';
import { ManualClock, ManualTimers, settle } from '@gastown/testkit/fake-control-plane/index';
import type { StoredSnapshot } from '../../src/broker';
import type { AgentRuntime, RestoreOutcome } from '../../src/contracts';
import { RuntimeError } from '../../src/runtime/errors';
import { encodeSnapshot } from '../../src/session';
import { MayorSession } from '../../src/supervisor/mayor-session';
import { exportOf, silentLogger } from './fakes';

const SECRET = 'planted-secret-value-7f3a9c21';

/** A deferred promise: a save held open until the test lets it finish. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

class StubClient {
  stored: StoredSnapshot | null = null;
  readonly puts: StoredSnapshot[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Each put waits for the next gate in this list (when there is one). */
  readonly gates: Array<{ promise: Promise<void>; resolve: () => void }> = [];
  putError: Error | null = null;
  getError: Error | null = null;
  async putSession(snapshot: StoredSnapshot): Promise<SessionSnapshotRecord> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const gate = this.gates.shift();
      if (gate) await gate.promise;
      if (this.putError) throw this.putError;
      this.puts.push(snapshot);
      this.stored = snapshot;
      return { ...snapshot.meta, bytes: snapshot.bytes.byteLength, sha256: snapshot.sha256, storedAt: 0 };
    } finally {
      this.inFlight--;
    }
  }
  gets = 0;
  /** With getError: fail only this many GETs (then answer); null: fail them all. */
  failGets: number | null = null;
  async getSession(): Promise<StoredSnapshot | null> {
    this.gets++;
    if (this.getError && (this.failGets === null || this.gets <= this.failGets)) throw this.getError;
    return this.stored;
  }
}

class StubRuntime {
  prompts: string[] = [];
  restoreOutcome: RestoreOutcome | null = null;
  /** The session shows a prompt only after this many more exports. */
  hideForExports = 0;
  exports = 0;
  extra: string[] = [];
  async exportSession() {
    this.exports++;
    const visible = this.hideForExports > 0 ? this.prompts.slice(0, -1) : this.prompts;
    if (this.hideForExports > 0) this.hideForExports--;
    return exportOf('ses_stub0001', [...visible, ...this.extra]);
  }
}

function setup(options: { secrets?: string[] } = {}) {
  const clock = new ManualClock(1_000_000);
  const timers = new ManualTimers(clock);
  const client = new StubClient();
  const runtime = new StubRuntime();
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  const session = new MayorSession({
    client,
    sink: {
      emit: (type, data = {}) => {
        events.push({ type, data });
        return { id: `ev_${events.length}`, type, at: clock.now(), data };
      },
    },
    runtimeKind: 'opencode',
    clock,
    timers,
    logger: silentLogger,
    secrets: () => options.secrets ?? [],
  });
  session.attach(runtime as unknown as AgentRuntime);
  return { clock, timers, client, runtime, events, session };
}

/** load(), with the manual timers driven past every retry pause. */
async function loadDriving(session: MayorSession, timers: ManualTimers): ReturnType<MayorSession['load']> {
  const loading = session.load();
  for (let i = 0; i < 6; i++) {
    await settle();
    await timers.advance(1_000);
  }
  return loading;
}

function reasons(client: StubClient): SessionSaveReason[] {
  return client.puts.map((put) => put.meta.reason);
}

describe('MayorSession saves', () => {
  it('serialises saves and coalesces every request made while one runs into one more save', async () => {
    const { client, runtime, session } = setup();
    runtime.prompts = ['one'];
    const first = deferred();
    client.gates.push(first);
    const a = session.save('waiting');
    // the first save is uploading (gzip runs in the thread pool: wait for it, not for a number of ticks)
    await vi.waitFor(() => expect(client.inFlight).toBe(1));
    runtime.prompts = ['one', 'two'];
    const b = session.save('message');
    const c = session.save('waiting');
    const d = session.save('message');
    expect(c).toBe(b);
    expect(d).toBe(b);
    first.resolve();
    await Promise.all([a, b, c, d]);
    expect(client.puts).toHaveLength(2);
    expect(client.maxInFlight).toBe(1);
    // the queued save ran after the first, with the latest reason and the session as it was then
    expect(reasons(client)).toEqual(['waiting', 'message']);
    expect(client.puts[1]!.meta.messages).toBe(2);
    expect(session.lastSave).toMatchObject({ turns: 2, reason: 'message', bytes: client.puts[1]!.bytes.byteLength });
  });

  it('the caller of a queued save hears back only once that save is done', async () => {
    const { client, session } = setup();
    const first = deferred();
    const second = deferred();
    client.gates.push(first, second);
    void session.save('waiting');
    let queuedDone = false;
    const queued = session.save('message').then(() => (queuedDone = true));
    first.resolve();
    await settle();
    expect(queuedDone).toBe(false);
    second.resolve();
    await queued;
    expect(reasons(client)).toEqual(['waiting', 'message']);
  });

  it('a failed save resolves, is recorded as session.save_failed with its code, and the next save works', async () => {
    const { client, session, events } = setup();
    client.putError = new GastownError('control_plane_unavailable', 'control plane answered 503');
    await expect(session.save('message')).resolves.toBeUndefined();
    expect(events).toEqual([{ type: 'session.save_failed', data: { reason: 'message', code: 'control_plane_unavailable' } }]);
    expect(session.lastSave).toBeNull();
    client.putError = null;
    await session.save('waiting');
    expect(reasons(client)).toEqual(['waiting']);
  });

  it('an export failure is a failed save too (typed code), never a throw', async () => {
    const { runtime, session, events } = setup();
    runtime.exportSession = async () => {
      throw new RuntimeError('runtime_not_running', 'gone');
    };
    await session.save('waiting');
    expect(events).toEqual([{ type: 'session.save_failed', data: { reason: 'waiting', code: 'container_unavailable' } }]);
  });

  it('close saves last, after the running save, and later requests save nothing', async () => {
    const { client, session } = setup();
    const first = deferred();
    client.gates.push(first);
    void session.save('waiting');
    const closing = session.close('drain');
    first.resolve();
    await closing;
    expect(reasons(client)).toEqual(['waiting', 'drain']);
    await session.save('waiting');
    await session.saveAfterMessage('late', 0);
    expect(client.puts).toHaveLength(2);
  });

  it('a message save waits until the session shows the message, then saves it', async () => {
    const { client, runtime, session, timers } = setup();
    runtime.prompts = ['hello mayor'];
    runtime.hideForExports = 3;
    const baseline = session.messageBaseline('hello mayor');
    let done = false;
    const saving = session.saveAfterMessage('hello mayor', baseline).then(() => (done = true));
    for (let i = 0; i < 3; i++) await timers.advance(100);
    await saving;
    expect(done).toBe(true);
    expect(runtime.exports).toBe(5); // 4 looks (3 without it) + the save's own export
    expect(client.puts).toHaveLength(1);
    const stored = JSON.parse(gunzipSync(client.puts[0]!.bytes).toString('utf8')) as { messages: Array<{ parts: Array<{ text?: string }> }> };
    expect(stored.messages.map((m) => m.parts[0]?.text)).toEqual(['hello mayor']);
  });

  it('a repeated text waits for the new copy, not the one already there', async () => {
    const { client, runtime, session, timers } = setup();
    runtime.prompts = ['again'];
    await session.save('waiting'); // the session's last look: one 'again'
    runtime.prompts = ['again', 'again'];
    runtime.hideForExports = 2;
    const saving = session.saveAfterMessage('again', session.messageBaseline('again'));
    await timers.advance(100);
    await timers.advance(100);
    await saving;
    expect(client.puts.at(-1)!.meta.messages).toBe(2);
  });

  it('a message the session never shows is saved anyway after the bound (3 s)', async () => {
    const { client, runtime, session, timers } = setup();
    runtime.prompts = ['lost'];
    runtime.hideForExports = 1_000;
    const saving = session.saveAfterMessage('lost', 0);
    await timers.advance(3_000);
    await saving;
    expect(runtime.exports).toBeGreaterThanOrEqual(30);
    expect(runtime.exports).toBeLessThanOrEqual(33);
    expect(client.puts).toHaveLength(1);
  });

  it('redacts every registered secret out of what it stores', async () => {
    const { client, runtime, session } = setup({ secrets: [SECRET] });
    runtime.prompts = [`my key is ${SECRET}`];
    runtime.extra = [`{"${SECRET}": "as a key"}`];
    await session.save('message');
    const raw = gunzipSync(client.puts[0]!.bytes).toString('utf8');
    expect(raw).not.toContain(SECRET);
    expect(raw).toContain('[redacted:');
  });
});

describe('MayorSession restore', () => {
  async function stored(sessionId = 'ses_saved00001', droppedBefore = 0): Promise<StoredSnapshot> {
    return encodeSnapshot({
      runtime: 'opencode',
      export: exportOf(sessionId, ['first', 'second']),
      savedAt: 1,
      reason: 'stop',
      droppedBefore,
      redact: (s) => s,
    });
  }

  it('none stored → a fresh session, no event', async () => {
    const { session, events } = setup();
    await expect(session.load()).resolves.toBeNull();
    expect(events).toEqual([]);
  });

  it('a stored snapshot → the restore option; a restored runtime → session.restored with its numbers', async () => {
    const { client, session, events, runtime } = setup();
    client.stored = await stored('ses_saved00001', 4);
    const restore = await session.load();
    expect(restore).toMatchObject({ sessionId: 'ses_saved00001' });
    expect(JSON.parse(restore!.importFile)).toMatchObject({
      info: { id: 'ses_saved00001' },
      messages: [{ info: { role: 'user' } }, { info: { role: 'user' } }],
    });
    runtime.restoreOutcome = { ok: true, sessionId: 'ses_saved00001', importMs: 900 };
    session.attach(runtime as unknown as AgentRuntime);
    expect(events).toEqual([
      {
        type: 'session.restored',
        data: { sessionId: 'ses_saved00001', turns: 2, messages: 2, bytes: client.stored.bytes.byteLength, ms: 900, importMs: 900 },
      },
    ]);
    // later saves carry the turns the restored snapshot had already dropped
    await session.save('waiting');
    expect(client.puts[0]!.meta.droppedTurns).toBe(4);
  });

  it.each([
    {
      name: 'checksum mismatch',
      arrange: async (client: StubClient) => {
        client.stored = { ...(await stored()), sha256: 'f'.repeat(64) };
      },
      code: 'snapshot_corrupt',
    },
    {
      name: 'not gzip',
      arrange: async (client: StubClient) => {
        const bytes = new TextEncoder().encode('not gzip');
        client.stored = { ...(await stored()), bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
      },
      code: 'snapshot_corrupt',
    },
    {
      name: 'the store found its copy corrupt (422)',
      arrange: async (client: StubClient) => {
        client.getError = new GastownError('snapshot_corrupt', 'the stored session snapshot fails its checksum');
      },
      code: 'snapshot_corrupt',
    },
    {
      name: 'control plane unavailable',
      arrange: async (client: StubClient) => {
        client.getError = new GastownError('control_plane_unavailable', 'control plane unreachable');
      },
      code: 'control_plane_unavailable',
    },
  ])('$name → a fresh session and session.restore_failed {code: $code}', async ({ arrange, code }) => {
    const { client, session, events, timers } = setup();
    await arrange(client);
    await expect(loadDriving(session, timers)).resolves.toBeNull();
    expect(events).toEqual([{ type: 'session.restore_failed', data: { code, message: expect.any(String) } }]);
  });

  it('an import the runtime could not make → session.restore_failed with the runtime code, and saves start over', async () => {
    const { client, session, events, runtime } = setup();
    client.stored = await stored('ses_saved00001', 4);
    await session.load();
    runtime.restoreOutcome = { ok: false, error: new RuntimeError('runtime_restore_failed', 'the session import exited with code 1') };
    session.attach(runtime as unknown as AgentRuntime);
    expect(events).toEqual([
      {
        type: 'session.restore_failed',
        data: { code: 'container_unavailable', runtimeCode: 'runtime_restore_failed', message: 'the session import exited with code 1' },
      },
    ]);
    await session.save('waiting');
    expect(client.puts[0]!.meta.droppedTurns).toBe(0);
  });

  it('a transient failure of the GET is retried (twice, after 0.5 s and 1.5 s): a store back on the 3rd try restores, no event', async () => {
    const { client, session, events, timers } = setup();
    client.stored = await stored('ses_saved00001', 4);
    client.getError = new GastownError('control_plane_unavailable', 'control plane unreachable');
    client.failGets = 2;
    const restore = await loadDriving(session, timers);
    expect(restore).toMatchObject({ sessionId: 'ses_saved00001' });
    expect(client.gets).toBe(3);
    expect(events).toEqual([]);
  });

  it('a transient failure that lasts: three GETs, then a fresh session; a corrupt snapshot is never asked for twice', async () => {
    const transient = setup();
    transient.client.getError = new GastownError('upstream_failed', 'the store did not answer');
    await loadDriving(transient.session, transient.timers);
    expect(transient.client.gets).toBe(3);
    const corrupt = setup();
    corrupt.client.getError = new GastownError('snapshot_corrupt', 'the stored session snapshot fails its checksum');
    await loadDriving(corrupt.session, corrupt.timers);
    expect(corrupt.client.gets).toBe(1);
  });

  it('a restore failure message is redacted', async () => {
    const { client, session, events, timers } = setup({ secrets: [SECRET] });
    client.getError = new GastownError('upstream_failed', `odd answer mentioning ${SECRET}`);
    await loadDriving(session, timers);
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });
});
