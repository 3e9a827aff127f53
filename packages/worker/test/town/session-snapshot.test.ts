/**
 * Durable mayor sessions, the control plane's half: the agent API stores a snapshot in R2 only when
 * its bytes match their SHA-256, keeps one object per agent, serves it back only while it still
 * matches, and the user's reset forgets it (stopping a running mayor). Agent views summarise it.
 */
import {
  AgentSchema,
  MayorSessionResetResponseSchema,
  SESSION_SNAPSHOT_CONTENT_TYPE,
  SESSION_SNAPSHOT_META_HEADER,
  SESSION_SNAPSHOT_SHA256_HEADER,
  SessionSnapshotRecordSchema,
  summariseSnapshot,
  type Agent,
} from '@gastown/protocol';
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, expectError, issue, spawnAgent, type AgentWithCredentials } from '../helpers';
import { agentById, agentsOf, dispatchTown, heartbeat, sendToMayor, startedAgent, townEvents, type DispatchFixture } from '../support/agent-calls';
import { getSnapshot, makeSnapshot, putSnapshot, sessionObjects, townObjects } from '../support/session-snapshots';

/** A town with a fake container whose mayor was started by a message and waits. */
async function withRunningMayor(): Promise<{ f: DispatchFixture; mayor: AgentWithCredentials }> {
  const f = await dispatchTown();
  await sendToMayor(f, 'hello mayor');
  const mayor = startedAgent(f.fake.of('start').at(-1)!.req);
  expect((await heartbeat(mayor, { activity: 'waiting' })).status).toBe(200);
  return { f, mayor };
}

function resetSession(f: DispatchFixture) {
  return call('DELETE', `/api/towns/${f.town.id}/mayor/session`, { token: f.userToken });
}

describe('PUT / GET the agent session', () => {
  it('round trip: the stored bytes come back unchanged, with their checksum and meta headers', async () => {
    const { f, mayor } = await withRunningMayor();
    const snap = await makeSnapshot(3);
    const put = await putSnapshot(mayor, snap);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const record = SessionSnapshotRecordSchema.parse(put.body);
    expect(record).toMatchObject({ ...snap.meta, bytes: snap.bytes.byteLength, sha256: snap.sha256 });
    expect(Math.abs(record.storedAt - Date.now())).toBeLessThan(60_000);

    const got = await getSnapshot(mayor);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe(SESSION_SNAPSHOT_CONTENT_TYPE);
    expect(got.bytes).toEqual(snap.bytes);
    expect(got.headers.get(SESSION_SNAPSHOT_SHA256_HEADER)).toBe(snap.sha256);
    expect(JSON.parse(got.headers.get(SESSION_SNAPSHOT_META_HEADER)!)).toEqual(snap.meta);

    const objects = await sessionObjects(f.town.id, mayor.agent.id);
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatch(new RegExp(`^towns/${f.town.id}/agents/${mayor.agent.id}/session/${record.storedAt}-[0-9a-z]{16}\\.json\\.gz$`));
    const head = await env.SESSIONS.head(objects[0]!);
    expect(head?.httpMetadata?.contentType).toBe(SESSION_SNAPSHOT_CONTENT_TYPE);
  });

  it('retention: a second snapshot replaces the first, whose object is deleted', async () => {
    const { f, mayor } = await withRunningMayor();
    const first = await makeSnapshot(1, 'first');
    expect((await putSnapshot(mayor, first)).status).toBe(200);
    const [firstKey] = await sessionObjects(f.town.id, mayor.agent.id);
    const second = await makeSnapshot(2, 'second');
    expect((await putSnapshot(mayor, second)).status).toBe(200);

    const objects = await sessionObjects(f.town.id, mayor.agent.id);
    expect(objects).toHaveLength(1);
    expect(objects[0]).not.toBe(firstKey);
    expect((await getSnapshot(mayor)).bytes).toEqual(second.bytes);
  });

  it('no snapshot stored: GET → 404 not_found', async () => {
    const { mayor } = await withRunningMayor();
    const got = await getSnapshot(mayor);
    expect({ status: got.status, code: got.json?.error?.code }).toEqual({ status: 404, code: 'not_found' });
  });

  it('mayor only: a polecat or a refinery gets 403 role_forbidden, and nothing is stored', async () => {
    const { f } = await withRunningMayor();
    const polecat = await spawnAgent(f.town.id, { role: 'polecat', rigId: f.rig.id });
    const refinery = await spawnAgent(f.town.id, { role: 'refinery', rigId: f.rig.id });
    const snap = await makeSnapshot();
    for (const who of [polecat, refinery]) {
      expectError(await putSnapshot(who, snap), 403, 'role_forbidden');
      const got = await getSnapshot(who);
      expect({ status: got.status, code: got.json?.error?.code }).toEqual({ status: 403, code: 'role_forbidden' });
    }
    expect(await townObjects(f.town.id)).toEqual([]);
  });

  it('a token of an earlier generation: 401 token_revoked, and the object it uploaded is deleted again', async () => {
    const { f, mayor } = await withRunningMayor();
    const kept = await makeSnapshot(1, 'kept');
    expect((await putSnapshot(mayor, kept)).status).toBe(200);
    const keys = await sessionObjects(f.town.id, mayor.agent.id);
    const next = await issue(f.town.id, mayor.agent.id); // gen + 1: the old run's token is revoked

    expectError(await putSnapshot(mayor, await makeSnapshot(2, 'stale')), 401, 'token_revoked');
    expect(await sessionObjects(f.town.id, mayor.agent.id)).toEqual(keys);
    const stale = await getSnapshot(mayor);
    expect({ status: stale.status, code: stale.json?.error?.code }).toEqual({ status: 401, code: 'token_revoked' });
    // the current generation still reads the snapshot that was kept
    expect((await getSnapshot(next)).bytes).toEqual(kept.bytes);
  });

  it('a body that does not match its SHA-256 (a torn upload): 422 snapshot_corrupt, nothing stored', async () => {
    const { f, mayor } = await withRunningMayor();
    const snap = await makeSnapshot();
    const torn = snap.bytes.slice(0, snap.bytes.byteLength - 7);
    expectError(await putSnapshot(mayor, snap, { body: torn }), 422, 'snapshot_corrupt');
    expectError(await putSnapshot(mayor, snap, { sha256: 'a'.repeat(64) }), 422, 'snapshot_corrupt');
    expect(await townObjects(f.town.id)).toEqual([]);
    expect((await getSnapshot(mayor)).status).toBe(404);
  });

  it('GET: an object altered in R2 is never served — 422 snapshot_corrupt and a town event', async () => {
    const { f, mayor } = await withRunningMayor();
    expect((await putSnapshot(mayor, await makeSnapshot())).status).toBe(200);
    const [key] = await sessionObjects(f.town.id, mayor.agent.id);
    await env.SESSIONS.put(key!, new TextEncoder().encode('garbage, not the snapshot'));

    const got = await getSnapshot(mayor);
    expect({ status: got.status, code: got.json?.error?.code }).toEqual({ status: 422, code: 'snapshot_corrupt' });
    expect(Object.keys(got.json)).toEqual(['error']);
    const events = (await townEvents(f)).filter((e) => e.type === 'session.snapshot_corrupt');
    expect(events).toEqual([expect.objectContaining({ agentId: mayor.agent.id, data: expect.objectContaining({ agentId: mayor.agent.id }) })]);
  });

  it('GET: a record whose object is gone → 422 snapshot_corrupt', async () => {
    const { f, mayor } = await withRunningMayor();
    expect((await putSnapshot(mayor, await makeSnapshot())).status).toBe(200);
    const [key] = await sessionObjects(f.town.id, mayor.agent.id);
    await env.SESSIONS.delete(key!);
    const got = await getSnapshot(mayor);
    expect({ status: got.status, code: got.json?.error?.code }).toEqual({ status: 422, code: 'snapshot_corrupt' });
  });
});

describe('agent views', () => {
  it("the agent list shows the mayor's session summary; agents without one show null", async () => {
    const { f, mayor } = await withRunningMayor();
    const polecat = await spawnAgent(f.town.id, { role: 'polecat', rigId: f.rig.id });
    expect((await agentById(f, mayor.agent.id)).session).toBeNull();
    const record = SessionSnapshotRecordSchema.parse((await putSnapshot(mayor, await makeSnapshot(4))).body);

    const agents = (await agentsOf(f)).map((a) => AgentSchema.parse(a));
    expect(agents.find((a) => a.id === mayor.agent.id)!.session).toEqual(summariseSnapshot(record));
    expect(agents.find((a) => a.id === polecat.agent.id)!.session).toBeNull();
    // the mayor view of a message answer carries it too
    const answer = await sendToMayor(f, 'again');
    expect((answer.body.mayor as Agent).session).toEqual(summariseSnapshot(record));
  });
});

describe('DELETE the mayor session', () => {
  it('stops a running mayor, forgets the record and deletes the object; the next start finds none', async () => {
    const { f, mayor } = await withRunningMayor();
    expect((await putSnapshot(mayor, await makeSnapshot())).status).toBe(200);

    const res = await resetSession(f);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(MayorSessionResetResponseSchema.parse(res.body)).toEqual({ deleted: true, stopped: true });
    expect(f.fake.of('stop').map((s) => s.agentId)).toEqual([mayor.agent.id]);
    expect(await townObjects(f.town.id)).toEqual([]);
    expect(await agentById(f, mayor.agent.id)).toMatchObject({ status: 'stopped', session: null });
    expect((await townEvents(f)).find((e) => e.type === 'mayor.session_reset')).toMatchObject({
      agentId: mayor.agent.id,
      data: { deleted: true, stopped: true },
    });

    // the next message starts the mayor again, and its run finds no snapshot to restore
    expect((await sendToMayor(f, 'start over')).body.delivery).toBe('started');
    const restarted = startedAgent(f.fake.of('start').at(-1)!.req);
    expect((await getSnapshot(restarted)).status).toBe(404);
    expectError(await putSnapshot(mayor, await makeSnapshot()), 401, 'token_revoked');
  });

  it('a final save the stopping mayor makes lands before the record is deleted: nothing survives the reset', async () => {
    const { f, mayor } = await withRunningMayor();
    expect((await putSnapshot(mayor, await makeSnapshot(1, 'before'))).status).toBe(200);
    let finalSave = 0;
    f.fake.behaviour.onStop = async () => {
      finalSave = (await putSnapshot(mayor, await makeSnapshot(2, 'final'))).status;
    };
    expect((await resetSession(f)).body).toEqual({ deleted: true, stopped: true });
    expect(finalSave).toBe(200);
    expect(await townObjects(f.town.id)).toEqual([]);
    expect((await agentById(f, mayor.agent.id)).session).toBeNull();
  });

  it('nothing stored and the mayor not running: deleted false, stopped false', async () => {
    const f = await dispatchTown();
    const res = await resetSession(f);
    expect(res.body).toEqual({ deleted: false, stopped: false });
    expect(f.fake.of('stop')).toEqual([]);
  });

  it("another user's town: 404 not_found", async () => {
    const f = await dispatchTown();
    const other = await dispatchTown();
    expectError(await call('DELETE', `/api/towns/${f.town.id}/mayor/session`, { token: other.userToken }), 404, 'not_found');
  });
});
