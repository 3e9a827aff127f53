/**
 * The user API's bead management (USER_API.beads, .bead, .closeBead, .reopenBead): auth, ownership
 * (another user's bead → 404), validation, dependency cycles, list filters and pagination bounds,
 * and the dispatch gate (a bead whose dependencies are not all closed is not dispatched).
 */
import { PAGE_LIMITS, type Bead, type Rig, type Town } from '@gastown/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { addRig, call, callTool, createTown, createUserToken, dispatchMayor, expectError, sling, uniqueName } from '../helpers';
import { dispatchTown, townEvents } from '../support/agent-calls';
import { runAlarm } from '../support/fake-container';
import { twoOwners } from '../support/two-owners';

let token: string;
let town: Town;
let rig: Rig;
let otherToken: string;
let otherTown: Town;
let otherBead: Bead;

const beads = (townId = town.id) => `/api/towns/${townId}/beads`;

async function create(body: Record<string, unknown>, t = token, townId = town.id): Promise<Bead> {
  const res = await call('POST', beads(townId), { token: t, body: { rigId: rig.id, ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.bead as Bead;
}

const patch = (beadId: string, body: unknown, t = token) => call('PATCH', `${beads()}/${beadId}`, { token: t, body });
const action = (beadId: string, verb: 'close' | 'reopen', body: unknown = {}, t = token) => call('POST', `${beads()}/${beadId}/${verb}`, { token: t, body });

beforeAll(async () => {
  const { mine, theirs } = await twoOwners();
  ({ token, town, rig } = mine);
  ({ token: otherToken, town: otherTown } = theirs);
  const otherRig = theirs.rig;
  const res = await call('POST', beads(otherTown.id), { token: otherToken, body: { rigId: otherRig.id, title: 'theirs' } });
  expect(res.status).toBe(201);
  otherBead = res.body.bead as Bead;
});

describe('create', () => {
  it('a new open issue bead with the defaults: priority 2, no labels, no dependencies; a bead.created event', async () => {
    const bead = await create({ title: 'Add a README' });
    expect(bead).toMatchObject({ townId: town.id, rigId: rig.id, type: 'issue', status: 'open', title: 'Add a README', body: '' });
    expect(bead).toMatchObject({ priority: 2, labels: [], dependsOn: [], attempts: 0, assigneeId: null, metadata: { createdBy: 'user' } });
    const events = await townEvents({ userToken: token, town });
    expect(events.find((e) => e.type === 'bead.created' && e.beadId === bead.id)?.data).toMatchObject({ by: 'user', rigId: rig.id });
  });

  it('with priority, labels and dependencies; GET answers the same bead', async () => {
    const dep = await create({ title: 'first' });
    const bead = await create({ title: 'second', body: 'details', priority: 0, labels: ['frontend', 'p:urgent'], dependsOn: [dep.id] });
    expect(bead).toMatchObject({ priority: 0, labels: ['frontend', 'p:urgent'], dependsOn: [dep.id], body: 'details' });
    const got = await call('GET', `${beads()}/${bead.id}`, { token });
    expect(got.status).toBe(200);
    expect(got.body.bead).toEqual(bead);
  });

  it.each([
    { name: 'no title', body: { rigId: 'rig' } },
    { name: 'priority above 4', body: { title: 't', priority: 5 } },
    { name: 'priority not whole', body: { title: 't', priority: 1.5 } },
    { name: 'a label with capitals', body: { title: 't', labels: ['Frontend'] } },
    { name: 'a label twice', body: { title: 't', labels: ['a', 'a'] } },
    { name: 'too many labels', body: { title: 't', labels: Array.from({ length: 21 }, (_, i) => `l${i}`) } },
    { name: 'a dependency that is not an id', body: { title: 't', dependsOn: ['../x'] } },
    { name: 'a dependency twice', body: { title: 't', dependsOn: ['bd_aaaaaaaa', 'bd_aaaaaaaa'] } },
    { name: 'an unknown field', body: { title: 't', status: 'closed' } },
    { name: 'a dependency not in this town', body: { title: 't', dependsOn: ['bd_00000000'] } },
  ])('$name → 400 validation_failed, nothing stored', async ({ body }) => {
    const before = (await call('GET', `${beads()}?limit=500`, { token })).body.beads.length;
    expectError(await call('POST', beads(), { token, body: { rigId: rig.id, ...body } }), 400, 'validation_failed');
    expect((await call('GET', `${beads()}?limit=500`, { token })).body.beads.length).toBe(before);
  });

  it("another user's bead as a dependency is refused like a missing one (400, nothing about it told)", async () => {
    const res = await call('POST', beads(), { token, body: { rigId: rig.id, title: 't', dependsOn: [otherBead.id] } });
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.message).toBe(`dependsOn: bead ${otherBead.id} not found in this town`);
  });

  it('an unknown rig → 404', async () => {
    expectError(await call('POST', beads(), { token, body: { rigId: 'rig_00000000', title: 't' } }), 404, 'not_found');
  });
});

describe('auth and ownership', () => {
  it.each([
    { name: 'list', method: 'GET', path: () => beads() },
    { name: 'create', method: 'POST', path: () => beads() },
    { name: 'get', method: 'GET', path: () => `${beads()}/bd_aaaaaaaa` },
    { name: 'edit', method: 'PATCH', path: () => `${beads()}/bd_aaaaaaaa` },
    { name: 'delete', method: 'DELETE', path: () => `${beads()}/bd_aaaaaaaa` },
    { name: 'close', method: 'POST', path: () => `${beads()}/bd_aaaaaaaa/close` },
    { name: 'reopen', method: 'POST', path: () => `${beads()}/bd_aaaaaaaa/reopen` },
  ])('$name without a token → 401, with a bad one → 401; nothing changes', async ({ method, path }) => {
    const body = method === 'GET' || method === 'DELETE' ? undefined : { rigId: rig.id, title: 'x' };
    const before = (await call('GET', `${beads()}?limit=500`, { token })).body.beads;
    expectError(await call(method, path(), { body }), 401, 'token_missing');
    expect((await call(method, path(), { token: 'not-a-jwt', body })).status).toBe(401);
    expect((await call('GET', `${beads()}?limit=500`, { token })).body.beads).toEqual(before);
  });

  it.each([
    { name: 'get', run: (id: string, townId: string) => call('GET', `${beads(townId)}/${id}`, { token }) },
    { name: 'edit', run: (id: string, townId: string) => call('PATCH', `${beads(townId)}/${id}`, { token, body: { title: 'mine now' } }) },
    { name: 'delete', run: (id: string, townId: string) => call('DELETE', `${beads(townId)}/${id}`, { token }) },
    { name: 'close', run: (id: string, townId: string) => call('POST', `${beads(townId)}/${id}/close`, { token, body: {} }) },
    { name: 'reopen', run: (id: string, townId: string) => call('POST', `${beads(townId)}/${id}/reopen`, { token, body: {} }) },
  ])("$name another user's bead → 404, through their town or mine; it is unchanged", async ({ run }) => {
    expectError(await run(otherBead.id, otherTown.id), 404, 'not_found');
    expectError(await run(otherBead.id, town.id), 404, 'not_found');
    const theirs = await call('GET', `${beads(otherTown.id)}/${otherBead.id}`, { token: otherToken });
    expect(theirs.body.bead).toEqual(otherBead);
  });

  it("listing or creating in another user's town → 404", async () => {
    expectError(await call('GET', beads(otherTown.id), { token }), 404, 'not_found');
    expectError(await call('POST', beads(otherTown.id), { token, body: { rigId: rig.id, title: 't' } }), 404, 'not_found');
  });
});

describe('edit', () => {
  it('changes what it names; labels and dependsOn replace the lists; a bead.updated event names the fields', async () => {
    const dep = await create({ title: 'dep' });
    const bead = await create({ title: 'old', labels: ['a', 'b'], dependsOn: [dep.id] });
    const res = await patch(bead.id, { title: 'new', priority: 1, labels: ['c'], dependsOn: [] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.bead).toMatchObject({ title: 'new', body: bead.body, priority: 1, labels: ['c'], dependsOn: [] });
    const events = await townEvents({ userToken: token, town });
    expect(events.find((e) => e.type === 'bead.updated' && e.beadId === bead.id)?.data).toEqual({
      fields: ['title', 'priority', 'labels', 'dependsOn'],
      by: 'user',
    });
  });

  it('an empty patch → 400 validation_failed', async () => {
    const bead = await create({ title: 'x' });
    expectError(await patch(bead.id, {}), 400, 'validation_failed');
  });

  it('an unknown bead → 404', async () => {
    expectError(await patch('bd_00000000', { title: 'x' }), 404, 'not_found');
  });

  it('moves an open bead to another rig; an unknown rig → 404', async () => {
    const other = await addRig(token, town.id, uniqueName('rig2'));
    const bead = await create({ title: 'move me' });
    expect((await patch(bead.id, { rigId: other.id })).body.bead.rigId).toBe(other.id);
    expectError(await patch(bead.id, { rigId: 'rig_00000000' }), 404, 'not_found');
  });
});

describe('dependency cycles → 400 validation_failed naming the cycle, nothing changes', () => {
  it('a bead on itself', async () => {
    const a = await create({ title: 'a' });
    const res = await patch(a.id, { dependsOn: [a.id] });
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.message).toContain(`${a.id} → ${a.id}`);
  });

  it('two beads on each other', async () => {
    const a = await create({ title: 'a' });
    const b = await create({ title: 'b', dependsOn: [a.id] });
    const res = await patch(a.id, { dependsOn: [b.id] });
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.message).toContain(`${a.id} → ${b.id} → ${a.id}`);
    expect((await call('GET', `${beads()}/${a.id}`, { token })).body.bead.dependsOn).toEqual([]);
  });

  it('three beads round; the chain without the closing edge is fine', async () => {
    const a = await create({ title: 'a' });
    const b = await create({ title: 'b', dependsOn: [a.id] });
    const c = await create({ title: 'c', dependsOn: [b.id] });
    expectError(await patch(a.id, { dependsOn: [c.id] }), 400, 'validation_failed');
    const d = await create({ title: 'd' });
    expect((await patch(a.id, { dependsOn: [d.id] })).status).toBe(200);
  });

  it('a dependency on a merge request or escalation is refused (only issues)', async () => {
    const f = await dispatchTownWithMayor();
    const esc = await callTool(f.mayor, 'escalate', { title: 'help' });
    expect(esc.status).toBe(200);
    const res = await call('POST', beads(f.town.id), { token: f.userToken, body: { rigId: f.rig.id, title: 't', dependsOn: [esc.body.bead.id] } });
    expectError(res, 400, 'validation_failed');
  });
});

describe('close, reopen, delete', () => {
  it('close an open bead (with a reason), close again (unchanged), reopen with fresh attempts', async () => {
    const bead = await create({ title: 'x' });
    const closed = await action(bead.id, 'close', { reason: 'not needed' });
    expect(closed.status).toBe(200);
    expect(closed.body.bead).toMatchObject({ status: 'closed', metadata: { closeReason: 'not needed' } });
    expect((await action(bead.id, 'close')).body.bead.status).toBe('closed');
    const reopened = await action(bead.id, 'reopen');
    expect(reopened.status).toBe(200);
    expect(reopened.body.bead).toMatchObject({ status: 'open', attempts: 0, assigneeId: null });
    expect(reopened.body.bead.metadata).not.toHaveProperty('closeReason');
  });

  it('close and reopen take an empty body', async () => {
    const bead = await create({ title: 'x' });
    expect((await call('POST', `${beads()}/${bead.id}/close`, { token })).status).toBe(200);
    expect((await call('POST', `${beads()}/${bead.id}/reopen`, { token })).status).toBe(200);
  });

  it('reopen an open bead → 409 conflict; close with an unknown field → 400', async () => {
    const bead = await create({ title: 'x' });
    expectError(await action(bead.id, 'reopen'), 409, 'conflict');
    expectError(await action(bead.id, 'close', { why: 'x' }), 400, 'validation_failed');
  });

  it('delete: gone afterwards (404), a bead.deleted event; deleting again → 404', async () => {
    const bead = await create({ title: 'x' });
    const res = await call('DELETE', `${beads()}/${bead.id}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deleted: true, beadId: bead.id });
    expectError(await call('GET', `${beads()}/${bead.id}`, { token }), 404, 'not_found');
    expectError(await call('DELETE', `${beads()}/${bead.id}`, { token }), 404, 'not_found');
    expect((await townEvents({ userToken: token, town })).some((e) => e.type === 'bead.deleted' && e.beadId === bead.id)).toBe(true);
  });

  it('a bead another depends on cannot be deleted (409 naming it) until the dependency is removed', async () => {
    const dep = await create({ title: 'dep' });
    const user = await create({ title: 'user', dependsOn: [dep.id] });
    const res = await call('DELETE', `${beads()}/${dep.id}`, { token });
    expectError(res, 409, 'conflict');
    expect(res.body.error.message).toContain(user.id);
    await patch(user.id, { dependsOn: [] });
    expect((await call('DELETE', `${beads()}/${dep.id}`, { token })).status).toBe(200);
  });

  it('a merge request or an escalation is not managed here → 409 conflict', async () => {
    const f = await dispatchTownWithMayor();
    const esc = (await callTool(f.mayor, 'escalate', { title: 'help' })).body.bead as Bead;
    const path = `${beads(f.town.id)}/${esc.id}`;
    expectError(await call('PATCH', path, { token: f.userToken, body: { title: 'x' } }), 409, 'conflict');
    expectError(await call('DELETE', path, { token: f.userToken }), 409, 'conflict');
    expectError(await call('POST', `${path}/close`, { token: f.userToken, body: {} }), 409, 'conflict');
  });
});

describe('list: filters and pagination bounds', () => {
  let listToken: string;
  let listTown: Town;
  let rigA: Rig;
  let rigB: Rig;
  beforeAll(async () => {
    listToken = await createUserToken();
    listTown = await createTown(listToken);
    rigA = await addRig(listToken, listTown.id);
    rigB = await addRig(listToken, listTown.id);
    for (let i = 0; i < 12; i++) {
      const res = await call('POST', beads(listTown.id), {
        token: listToken,
        body: { rigId: i % 2 === 0 ? rigA.id : rigB.id, title: `b${i}`, labels: i % 3 === 0 ? ['ui'] : ['api'] },
      });
      expect(res.status).toBe(201);
    }
  });
  const list = (query: string) => call('GET', `${beads(listTown.id)}?${query}`, { token: listToken });

  it.each([
    { name: 'by rig', query: () => `rigId=${rigA.id}`, count: 6 },
    { name: 'by label', query: () => 'label=ui', count: 4 },
    { name: 'by rig and label', query: () => `rigId=${rigB.id}&label=ui`, count: 2 },
    { name: 'by status', query: () => 'status=open', count: 12 },
    { name: 'by status (none closed)', query: () => 'status=closed', count: 0 },
    { name: 'by assignee (none)', query: () => 'assigneeId=ag_00000000', count: 0 },
  ])('$name', async ({ query, count }) => {
    const res = await list(query());
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.beads).toHaveLength(count);
  });

  it('a filtered list pages with the cursor: every match once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await list(`label=api&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.beads.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.beads.map((b: Bead) => b.title));
      cursor = res.body.nextCursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual(['b1', 'b2', 'b4', 'b5', 'b7', 'b8', 'b10', 'b11']);
  });

  it.each([
    { name: 'limit 0', query: 'limit=0' },
    { name: `limit above ${PAGE_LIMITS.maxLimit}`, query: `limit=${PAGE_LIMITS.maxLimit + 1}` },
    { name: 'limit not a number', query: 'limit=ten' },
    { name: 'a cursor of another list', query: 'cursor=bWFpbC4xLm1sX2FhYWFhYWFh' },
    { name: 'a malformed cursor', query: 'cursor=!!' },
    { name: 'an unknown status', query: 'status=done' },
    { name: 'a bad label', query: 'label=UI' },
    { name: 'a bad rig id', query: 'rigId=../x' },
    { name: 'an unknown filter', query: 'owner=me' },
  ])('$name → 400 validation_failed', async ({ query }) => {
    expectError(await list(query), 400, 'validation_failed');
  });

  it(`limit ${PAGE_LIMITS.maxLimit} and limit 1 are accepted`, async () => {
    expect((await list(`limit=${PAGE_LIMITS.maxLimit}`)).body.beads).toHaveLength(12);
    const one = await list('limit=1');
    expect(one.body.beads).toHaveLength(1);
    expect(one.body.nextCursor).toEqual(expect.any(String));
  });
});

describe('dispatch waits for dependencies', () => {
  it('a bead whose dependency is not closed is not dispatched; closing the dependency dispatches it', async () => {
    const f = await dispatchTown();
    const post = async (body: Record<string, unknown>) =>
      (await call('POST', beads(f.town.id), { token: f.userToken, body: { rigId: f.rig.id, ...body } })).body.bead as Bead;
    const a = await post({ title: 'A' });
    const b = await post({ title: 'B', dependsOn: [a.id] });
    const startedBeads = () => f.fake.of('start').map((s) => s.req.bead?.id);

    await runAlarm(f.town.id);
    expect(startedBeads()).toEqual([a.id]);
    await runAlarm(f.town.id);
    expect(startedBeads()).toEqual([a.id]);
    expect((await call('GET', `${beads(f.town.id)}/${b.id}`, { token: f.userToken })).body.bead.status).toBe('open');

    // closing A (in progress: its polecat is stopped first) lets B go
    const closed = await call('POST', `${beads(f.town.id)}/${a.id}/close`, { token: f.userToken, body: { reason: 'done by hand' } });
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    expect(closed.body.bead).toMatchObject({ status: 'closed', assigneeId: null });
    expect(f.fake.of('stop')).toHaveLength(1);
    await runAlarm(f.town.id);
    expect(startedBeads()).toEqual([a.id, b.id]);
  });

  it('a dependency closed and reopened holds its dependents back again', async () => {
    const f = await dispatchTown();
    const post = async (body: Record<string, unknown>) =>
      (await call('POST', beads(f.town.id), { token: f.userToken, body: { rigId: f.rig.id, ...body } })).body.bead as Bead;
    const a = await post({ title: 'A' });
    await call('POST', `${beads(f.town.id)}/${a.id}/close`, { token: f.userToken, body: {} });
    await call('POST', `${beads(f.town.id)}/${a.id}/reopen`, { token: f.userToken, body: {} });
    const b = await post({ title: 'B', dependsOn: [a.id] });
    await runAlarm(f.town.id);
    expect(f.fake.of('start').map((s) => s.req.bead?.id)).toEqual([a.id]);
    expect((await call('GET', `${beads(f.town.id)}/${b.id}`, { token: f.userToken })).body.bead.status).toBe('open');
  });
});

describe("the mayor's gt_sling and gt_bead_update", () => {
  it('gt_sling takes priority, labels and dependsOn; a cycle-free dependency on a bead of another rig is fine', async () => {
    const f = await dispatchTownWithMayor();
    const first = await sling(f.mayor, f.rig.id, 'first');
    const res = await callTool(f.mayor, 'sling', { rigId: f.rig.id, title: 'second', priority: 1, labels: ['backend'], dependsOn: [first.id] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.bead).toMatchObject({ priority: 1, labels: ['backend'], dependsOn: [first.id], metadata: { createdBy: f.mayor.agent.id } });
    expectError(await callTool(f.mayor, 'sling', { rigId: f.rig.id, title: 'x', dependsOn: ['bd_00000000'] }), 400, 'validation_failed');
    expectError(await callTool(f.mayor, 'sling', { rigId: f.rig.id, title: 'x', priority: 9 }), 400, 'validation_failed');
  });

  it('gt_bead_update changes a bead the mayor slung; a cycle → 400; a bead the user created → 403 token_scope', async () => {
    const f = await dispatchTownWithMayor();
    const a = await sling(f.mayor, f.rig.id, 'a');
    const b = (await callTool(f.mayor, 'sling', { rigId: f.rig.id, title: 'b', dependsOn: [a.id] })).body.bead as Bead;
    const res = await callTool(f.mayor, 'bead_update', { beadId: a.id, title: 'a, better', priority: 0, labels: ['x'] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.bead).toMatchObject({ id: a.id, title: 'a, better', priority: 0, labels: ['x'] });
    expectError(await callTool(f.mayor, 'bead_update', { beadId: a.id, dependsOn: [b.id] }), 400, 'validation_failed');
    expectError(await callTool(f.mayor, 'bead_update', { beadId: a.id }), 400, 'validation_failed');
    const mine = (await call('POST', beads(f.town.id), { token: f.userToken, body: { rigId: f.rig.id, title: 'the user’s' } })).body.bead as Bead;
    expectError(await callTool(f.mayor, 'bead_update', { beadId: mine.id, title: 'taken over' }), 403, 'token_scope');
    expectError(await callTool(f.mayor, 'bead_update', { beadId: 'bd_00000000', title: 'x' }), 404, 'not_found');
  });
});

async function dispatchTownWithMayor() {
  const userToken = await createUserToken();
  const t = await createTown(userToken);
  const r = await addRig(userToken, t.id);
  const mayor = await dispatchMayor(userToken, t.id);
  return { userToken, town: t, rig: r, mayor };
}
