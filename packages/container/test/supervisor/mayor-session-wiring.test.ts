/**
 * Where the supervisor saves and restores the mayor's conversation (fakes): before the runtime
 * starts (restore), after an accepted message (before deliver answers), when the mayor goes
 * waiting, before the runtime stops ('stop', or 'drain' under stopAll) — and never for a polecat.
 */
import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GastownError, type SessionSaveReason } from '@gastown/protocol';
import type { StoredSnapshot } from '../../src/broker';
import { encodeSnapshot } from '../../src/session';
import { createHarness, exportOf, startRequest, type FakeClient, type Harness } from './fakes';

const MAYOR = 'ag_mayor001';
const POLECAT = 'ag_polecat01';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await rm(h.dataDir, { recursive: true, force: true });
});

function reasons(client: FakeClient): SessionSaveReason[] {
  return client.sessionPuts.map((put) => put.meta.reason);
}

/** Record each upload in the shared call log too (to check its order against the runtime's stop). */
function logPuts(client: FakeClient): void {
  const put = client.putSession.bind(client);
  client.putSession = async (snapshot: StoredSnapshot) => {
    h.log.push(`${MAYOR}:client.putSession:${snapshot.meta.reason}`);
    return put(snapshot);
  };
}

describe('the supervisor and the mayor session', () => {
  it('deliver answers only after the message is in a stored snapshot', async () => {
    await h.supervisor.start(startRequest('mayor'));
    const { client } = h.latest(MAYOR);
    await h.supervisor.deliver(MAYOR, { text: 'build a bridge' });
    expect(reasons(client)).toEqual(['message']);
    expect(client.stored?.meta).toMatchObject({ turns: 1, messages: 1, reason: 'message' });
    expect(h.supervisor.status(MAYOR).lastError).toBeNull();
  });

  it('a start prompt is saved before the start answers; session.idle saves "waiting"', async () => {
    await h.supervisor.start(startRequest('mayor', { prompt: 'hello' }));
    const { client, runtime } = h.latest(MAYOR);
    expect(reasons(client)).toEqual(['message']);
    runtime.emit({ type: 'session.busy', sessionId: 's' });
    runtime.emit({ type: 'session.idle', sessionId: 's' });
    await vi.waitFor(() => expect(reasons(client)).toEqual(['message', 'waiting']));
  });

  it('stop saves "stop" before the runtime stops; stopAll saves "drain"', async () => {
    await h.supervisor.start(startRequest('mayor'));
    logPuts(h.latest(MAYOR).client);
    h.log.length = 0;
    await h.supervisor.stop(MAYOR, { reason: 'user asked' });
    expect(h.log.slice(0, 2)).toEqual([`${MAYOR}:client.putSession:stop`, `${MAYOR}:runtime.stop`]);

    await h.supervisor.start(startRequest('mayor', { gen: 2 }));
    const second = h.latest(MAYOR).client;
    await h.supervisor.stopAll();
    expect(reasons(second)).toEqual(['drain']);
  });

  it('restores a stored conversation: the runtime gets it before it starts, session.restored is recorded', async () => {
    const stored = await encodeSnapshot({
      runtime: 'opencode',
      export: exportOf('ses_saved00001', ['one', 'two']),
      savedAt: 1,
      reason: 'stop',
      droppedBefore: 0,
      redact: (s) => s,
    });
    const harness = await createHarness({
      onClient: (client) => {
        client.stored = stored;
      },
    });
    const status = await harness.supervisor.start(startRequest('mayor'));
    const { runtime, sink } = harness.latest(MAYOR);
    expect(runtime.options.restore).toMatchObject({ sessionId: 'ses_saved00001' });
    expect(JSON.parse(runtime.options.restore!.importFile)).toMatchObject({ info: { id: 'ses_saved00001' } });
    expect(status.sessionId).toBe('ses_saved00001');
    expect(sink.records.filter((r) => r.type.startsWith('session.'))).toEqual([
      { type: 'session.restored', data: expect.objectContaining({ sessionId: 'ses_saved00001', turns: 2, messages: 2, bytes: stored.bytes.byteLength }) },
    ]);
    await rm(harness.dataDir, { recursive: true, force: true });
  });

  it('a control plane that cannot answer the restore → the mayor starts fresh, with session.restore_failed', async () => {
    const harness = await createHarness({
      onClient: (client) => {
        client.getSessionError = new GastownError('control_plane_unavailable', 'control plane unreachable');
      },
    });
    const status = await harness.supervisor.start(startRequest('mayor'));
    expect(status).toMatchObject({ runtimeState: 'idle', activity: 'waiting' });
    const { runtime, sink } = harness.latest(MAYOR);
    expect(runtime.options.restore).toBeUndefined();
    expect(sink.records.filter((r) => r.type.startsWith('session.'))).toEqual([
      { type: 'session.restore_failed', data: { code: 'control_plane_unavailable', message: 'control plane unreachable' } },
    ]);
    await rm(harness.dataDir, { recursive: true, force: true });
  });

  it('a failed save never fails the message', async () => {
    await h.supervisor.start(startRequest('mayor'));
    const { client, runtime, sink } = h.latest(MAYOR);
    client.putSessionError = new GastownError('control_plane_unavailable', 'control plane answered 503');
    const status = await h.supervisor.deliver(MAYOR, { text: 'still there?' });
    expect(status.runtimeState).toBe('running');
    expect(runtime.prompts).toEqual(['still there?']);
    expect(sink.records.filter((r) => r.type === 'session.save_failed')).toEqual([
      { type: 'session.save_failed', data: { reason: 'message', code: 'control_plane_unavailable' } },
    ]);
  });

  it('a polecat never touches a session snapshot', async () => {
    await h.supervisor.start(startRequest('polecat'));
    const { client, runtime } = h.latest(POLECAT);
    runtime.emit({ type: 'session.idle', sessionId: 's' });
    await h.supervisor.stop(POLECAT, {});
    expect(client.sessionPuts).toEqual([]);
    expect(runtime.options.restore).toBeUndefined();
    expect(runtime.exports).toBe(0);
  });
});
