/**
 * DELETE /api/towns/:townId/rigs/:rigId and DELETE /api/towns/:townId. A rig: its agents stopped,
 * its unclosed beads closed as cancelled, its workspaces removed by the container, 404 afterwards.
 * A town: the container destroyed, every row gone, its id 404, its agents' tokens 401, and it
 * leaves the user's list. Owner checks (another user's → 404), no token → 401.
 */
import { DeleteRigResponseSchema, DeleteTownResponseSchema, GastownError, USER_API, routePath, type Bead } from '@gastown/protocol';
import { describe, expect, it, vi } from 'vitest';
import { call, createUserToken, expectError, snapshotTown } from '../helpers';
import { agentsOf, dispatchTown, heartbeat, sendToMayor, startedAgent, townEvents } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';

const rigPath = (townId: string, rigId: string) => routePath(USER_API.rig, { townId, rigId });
const townPath = (townId: string) => routePath(USER_API.town, { townId });

/** A dispatched town with one bead in progress (its polecat started in the fake container) and one open bead waiting on it. */
async function workingTown() {
  const f = await dispatchTown();
  const created = await call('POST', routePath(USER_API.beads, { townId: f.town.id }), { token: f.userToken, body: { rigId: f.rig.id, title: 'work' } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const working = created.body.bead as Bead;
  const waiting = (
    await call('POST', routePath(USER_API.beads, { townId: f.town.id }), {
      token: f.userToken,
      body: { rigId: f.rig.id, title: 'later', dependsOn: [working.id] },
    })
  ).body.bead as Bead;
  await runAlarm(f.town.id);
  const start = f.fake.of('start').find((s) => s.req.bead?.id === working.id);
  expect(start, 'the polecat was started').toBeDefined();
  const polecat = startedAgent(start!.req);
  return { ...f, working, waiting, polecat };
}

describe('DELETE /api/towns/:townId/rigs/:rigId', () => {
  it('a convoy whose beads were all cancelled by the rig deletion is cancelled, not landed', async () => {
    const f = await workingTown();
    const convoyRes = await call('POST', routePath(USER_API.convoys, { townId: f.town.id }), {
      token: f.userToken,
      body: { name: 'all of the rig', beadIds: [f.working.id, f.waiting.id] },
    });
    expect(convoyRes.status, JSON.stringify(convoyRes.body)).toBe(201);
    const convoyId = convoyRes.body.convoy.id as string;
    expect((await call('DELETE', rigPath(f.town.id, f.rig.id), { token: f.userToken })).status).toBe(200);
    const convoy = (await call('GET', routePath(USER_API.convoy, { townId: f.town.id, convoyId }), { token: f.userToken })).body.convoy;
    expect(convoy).toMatchObject({ status: 'cancelled', progress: { closed: 2, total: 2 } });
    const events = await townEvents(f);
    expect(events.filter((e) => e.type === 'convoy.landed')).toEqual([]);
    expect(events.filter((e) => e.type === 'convoy.cancelled' && e.data.convoyId === convoyId).map((e) => e.data.by)).toEqual(['town']);
  });

  it('stops the rig’s agents, cancels its unclosed beads, removes its workspaces, and the rig answers 404 afterwards', async () => {
    const f = await workingTown();
    f.fake.calls.length = 0;
    const res = await call('DELETE', rigPath(f.town.id, f.rig.id), { token: f.userToken });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = DeleteRigResponseSchema.parse(res.body);
    expect(body.rigId).toBe(f.rig.id);
    expect(body.workspaces).toBe('removed');
    expect(new Set(body.cancelledBeadIds)).toEqual(new Set([f.working.id, f.waiting.id]));
    expect(body.stoppedAgentIds).toContain(f.polecat.agent.id);
    // the container: the polecat stopped first, then the workspaces of every agent of the rig
    expect(f.fake.of('stop').map((c) => c.agentId)).toContain(f.polecat.agent.id);
    const removal = f.fake.of('removeRig');
    expect(removal).toHaveLength(1);
    expect(removal[0]!.rigId).toBe(f.rig.id);
    expect(removal[0]!.agentIds).toContain(f.polecat.agent.id);

    for (const id of [f.working.id, f.waiting.id]) {
      const bead = (await call('GET', routePath(USER_API.bead, { townId: f.town.id, beadId: id }), { token: f.userToken })).body.bead as Bead;
      expect(bead.status).toBe('closed');
      expect(bead.metadata).toMatchObject({ cancelled: true, reason: 'rig deleted' });
    }
    const polecat = (await agentsOf(f)).find((a) => a.id === f.polecat.agent.id)!;
    expect(polecat.status).toBe('stopped');
    // its old token is dead
    expectError(await heartbeat(f.polecat), 401, 'token_revoked');

    const rigs = (await call('GET', routePath(USER_API.rigs, { townId: f.town.id }), { token: f.userToken })).body.rigs as { id: string }[];
    expect(rigs.map((r) => r.id)).not.toContain(f.rig.id);
    expectError(await call('PATCH', rigPath(f.town.id, f.rig.id), { token: f.userToken, body: { mergeStrategy: 'direct' } }), 404, 'not_found');
    expectError(await call('DELETE', rigPath(f.town.id, f.rig.id), { token: f.userToken }), 404, 'not_found');
    expect((await townEvents(f)).filter((e) => e.type === 'rig.deleted').map((e) => e.data.rigId)).toEqual([f.rig.id]);
    // nothing is dispatched for it afterwards
    f.fake.calls.length = 0;
    await runAlarm(f.town.id);
    expect(f.fake.of('start')).toHaveLength(0);
  });

  it.each([
    { name: 'a sleeping container', behaviour: 'container_asleep' as const, workspaces: 'container_asleep' },
    { name: 'a container that cannot be reached', behaviour: new GastownError('container_unavailable', 'host down'), workspaces: 'failed' },
  ])('$name: the rig is deleted anyway (workspaces: $workspaces)', async ({ behaviour, workspaces }) => {
    const f = await dispatchTown();
    f.fake.behaviour.removeRig = behaviour;
    const res = await call('DELETE', rigPath(f.town.id, f.rig.id), { token: f.userToken });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(DeleteRigResponseSchema.parse(res.body).workspaces).toBe(workspaces);
    expectError(await call('DELETE', rigPath(f.town.id, f.rig.id), { token: f.userToken }), 404, 'not_found');
  });

  it("another user's rig, an unknown rig, a malformed id → 404 / 400; no token → 401; nothing is deleted", async () => {
    const f = await dispatchTown();
    const stranger = await createUserToken();
    f.fake.calls.length = 0;
    expectError(await call('DELETE', rigPath(f.town.id, f.rig.id), { token: stranger }), 404, 'not_found');
    expectError(await call('DELETE', rigPath(f.town.id, 'rig_doesnotexist1'), { token: f.userToken }), 404, 'not_found');
    expectError(await call('DELETE', rigPath(f.town.id, 'not a rig'), { token: f.userToken }), 400, 'validation_failed');
    expectError(await call('DELETE', rigPath(f.town.id, f.rig.id)), 401, 'token_missing');
    expect(f.fake.calls).toHaveLength(0);
    const rigs = (await call('GET', routePath(USER_API.rigs, { townId: f.town.id }), { token: f.userToken })).body.rigs as { id: string }[];
    expect(rigs.map((r) => r.id)).toContain(f.rig.id);
  });
});

describe('DELETE /api/towns/:townId', () => {
  it('destroys the container, deletes every row; the town answers 404, its agents’ tokens 401, and it leaves the list', async () => {
    const f = await workingTown();
    f.fake.calls.length = 0;
    const res = await call('DELETE', townPath(f.town.id), { token: f.userToken });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(DeleteTownResponseSchema.parse(res.body)).toEqual({ deleted: true, townId: f.town.id, containerWasRunning: true, sessionObjectsRemoved: 0 });
    expect(f.fake.of('destroy')).toHaveLength(1);

    const rows = await snapshotTown(f.town.id);
    expect(Object.values(rows).flat(), JSON.stringify(rows).slice(0, 500)).toEqual([]);
    expectError(await call('GET', townPath(f.town.id), { token: f.userToken }), 404, 'not_found');
    expectError(await call('GET', routePath(USER_API.beads, { townId: f.town.id }), { token: f.userToken }), 404, 'not_found');
    expectError(await call('GET', routePath(USER_API.bead, { townId: f.town.id, beadId: f.working.id }), { token: f.userToken }), 404, 'not_found');
    expectError(await call('DELETE', townPath(f.town.id), { token: f.userToken }), 404, 'not_found');
    // the polecat's access token and refresh credential
    expectError(await heartbeat(f.polecat), 401, 'token_revoked');
    const refreshed = await call('POST', `/agent/towns/${f.town.id}/refresh`, { token: f.polecat.credentials.refreshCredential });
    expect(refreshed.status).toBe(401);
    const towns = (await call('GET', USER_API.towns, { token: f.userToken })).body.towns as { id: string }[];
    expect(towns.map((t) => t.id)).not.toContain(f.town.id);
    // the name is free again
    const again = await call('POST', USER_API.towns, { token: f.userToken, body: { name: f.town.name } });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
  });

  it.each([
    { name: 'cannot be reached → 503', error: new GastownError('container_unavailable', 'host down'), status: 503 },
    { name: 'refuses → 502', error: new GastownError('upstream_failed', 'refused'), status: 502 },
  ])('a container runtime that $name, and nothing is deleted', async ({ error, status }) => {
    const f = await dispatchTown();
    f.fake.behaviour.destroy = error;
    expectError(await call('DELETE', townPath(f.town.id), { token: f.userToken }), status, error.code);
    expect((await call('GET', townPath(f.town.id), { token: f.userToken })).status).toBe(200);
    // the town works as before: a message is taken (the deletion is no longer under way)
    f.fake.behaviour.destroy = null;
    expect((await sendToMayor(f, 'still here?')).status).toBe(201);
  });

  it('while its container is being destroyed, the town refuses every other call (409) and its alarm starts nothing', async () => {
    const f = await workingTown();
    let release!: () => void;
    f.fake.behaviour.destroyGate = new Promise<void>((resolve) => (release = resolve));
    f.fake.calls.length = 0;
    const deleting = call('DELETE', townPath(f.town.id), { token: f.userToken });
    await vi.waitFor(() => expect(f.fake.of('destroy')).toHaveLength(1), { timeout: 5_000 });
    const message = await sendToMayor(f, 'one last thing');
    expectError(message, 409, 'conflict');
    expect(message.body.error.message).toContain('being deleted');
    await runAlarm(f.town.id);
    expect(f.fake.of('start')).toEqual([]);
    expectError(await heartbeat(f.polecat), 401, 'token_revoked');
    release();
    expect((await deleting).status).toBe(200);
    expectError(await call('GET', townPath(f.town.id), { token: f.userToken }), 404, 'not_found');
  });

  it("another user's town, an unknown town → 404; no token → 401; nothing is destroyed", async () => {
    const f = await dispatchTown();
    const stranger = await createUserToken();
    f.fake.calls.length = 0;
    expectError(await call('DELETE', townPath(f.town.id), { token: stranger }), 404, 'not_found');
    expectError(await call('DELETE', townPath('town_neverexisted'), { token: stranger }), 404, 'not_found');
    expectError(await call('DELETE', townPath(f.town.id)), 401, 'token_missing');
    expect(f.fake.calls).toHaveLength(0);
    expect((await call('GET', townPath(f.town.id), { token: f.userToken })).status).toBe(200);
  });
});
