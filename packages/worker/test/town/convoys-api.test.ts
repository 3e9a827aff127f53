/**
 * Convoys (USER_API.convoys, .convoy; the mayor's gt_sling_batch, gt_list_convoys,
 * gt_convoy_status): auth, ownership (another user's convoy → 404), validation, progress,
 * pagination, and landing: a convoy lands when every bead is closed, whatever closed it, and
 * `convoy.landed` is recorded exactly once.
 */
import { CONVOY_LANDED_EVENT, PAGE_LIMITS, type Bead, type Convoy, type Rig, type Town } from '@gastown/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { addRig, call, callTool, createTown, createUserToken, expectError, ownBranch, setupTown } from '../helpers';
import { mergeResult, townEvents } from '../support/agent-calls';
import { twoOwners } from '../support/two-owners';

let token: string;
let town: Town;
let rig: Rig;
let otherToken: string;
let otherTown: Town;
let otherBead: Bead;
let otherConvoy: Convoy;

const convoys = (townId = town.id) => `/api/towns/${townId}/convoys`;
const beadsPath = (townId = town.id) => `/api/towns/${townId}/beads`;

async function bead(title: string, extra: Record<string, unknown> = {}, t = token, townId = town.id, rigId = rig.id): Promise<Bead> {
  const res = await call('POST', beadsPath(townId), { token: t, body: { rigId, title, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.bead as Bead;
}

async function create(body: Record<string, unknown>, t = token, townId = town.id): Promise<Convoy> {
  const res = await call('POST', convoys(townId), { token: t, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.convoy as Convoy;
}

const closeBead = (beadId: string, t = token, townId = town.id) => call('POST', `${beadsPath(townId)}/${beadId}/close`, { token: t, body: {} });
const getConvoy = (convoyId: string, t = token, townId = town.id) => call('GET', `${convoys(townId)}/${convoyId}`, { token: t });
const landedEvents = async (f: { userToken: string; town: Town }, convoyId: string) =>
  (await townEvents(f)).filter((e) => e.type === CONVOY_LANDED_EVENT && e.data.convoyId === convoyId);

beforeAll(async () => {
  const { mine, theirs } = await twoOwners();
  ({ token, town, rig } = mine);
  ({ token: otherToken, town: otherTown } = theirs);
  const otherRig = theirs.rig;
  otherBead = await bead('theirs', {}, otherToken, otherTown.id, otherRig.id);
  otherConvoy = await create({ name: 'theirs', beadIds: [otherBead.id] }, otherToken, otherTown.id);
});

describe('create and read', () => {
  it('an open convoy of issue beads with its progress; GET answers it with its beads in order; a convoy.created event', async () => {
    const a = await bead('A');
    const b = await bead('B');
    const convoy = await create({ name: 'Dark mode', goal: 'The whole app in dark mode', beadIds: [b.id, a.id] });
    expect(convoy).toMatchObject({
      townId: town.id,
      name: 'Dark mode',
      goal: 'The whole app in dark mode',
      beadIds: [b.id, a.id],
      status: 'open',
      progress: { closed: 0, total: 2 },
      createdBy: 'user',
      landedAt: null,
    });
    expect(convoy.id).toMatch(/^cv_[a-z0-9]{16}$/);
    const got = await getConvoy(convoy.id);
    expect(got.status).toBe(200);
    expect(got.body.convoy).toEqual(convoy);
    expect((got.body.beads as Bead[]).map((x) => x.id)).toEqual([b.id, a.id]);
    const events = await townEvents({ userToken: token, town });
    expect(events.find((e) => e.type === 'convoy.created' && e.data.convoyId === convoy.id)?.data).toMatchObject({ by: 'user', beadIds: [b.id, a.id] });
  });

  it.each([
    { name: 'no name', body: () => ({ beadIds: ['bd_aaaaaaaa'] }) },
    { name: 'no beads', body: () => ({ name: 'x', beadIds: [] }) },
    { name: 'a bead twice', body: () => ({ name: 'x', beadIds: ['bd_aaaaaaaa', 'bd_aaaaaaaa'] }) },
    { name: 'a bead id that is not an id', body: () => ({ name: 'x', beadIds: ['../x'] }) },
    { name: 'more than 100 beads', body: () => ({ name: 'x', beadIds: Array.from({ length: 101 }, (_, i) => `bd_${String(i).padStart(8, '0')}`) }) },
    { name: 'an unknown field', body: () => ({ name: 'x', beadIds: ['bd_aaaaaaaa'], status: 'landed' }) },
    { name: 'a bead not in this town', body: () => ({ name: 'x', beadIds: ['bd_00000000'] }) },
    { name: "another user's bead (answers like a missing one)", body: () => ({ name: 'x', beadIds: [otherBead.id] }) },
  ])('$name → 400 validation_failed, nothing stored', async ({ body }) => {
    const before = (await call('GET', `${convoys()}?limit=500`, { token })).body.convoys.length;
    expectError(await call('POST', convoys(), { token, body: body() }), 400, 'validation_failed');
    expect((await call('GET', `${convoys()}?limit=500`, { token })).body.convoys.length).toBe(before);
  });

  it('a merge request is not a convoy bead → 400 naming it', async () => {
    const f = await setupTown();
    const mr = (await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat) })).body.mergeRequest as Bead;
    const res = await call('POST', convoys(f.town.id), { token: f.userToken, body: { name: 'x', beadIds: [mr.id] } });
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.message).toBe(`beadIds: bead ${mr.id} is a merge_request, not an issue`);
  });
});

describe('auth and ownership', () => {
  it.each([
    { name: 'list', method: 'GET', path: () => convoys() },
    { name: 'create', method: 'POST', path: () => convoys() },
    { name: 'get', method: 'GET', path: () => `${convoys()}/cv_aaaaaaaa` },
    { name: 'patch', method: 'PATCH', path: () => `${convoys()}/cv_aaaaaaaa` },
    { name: 'delete', method: 'DELETE', path: () => `${convoys()}/cv_aaaaaaaa` },
  ])('$name without a token → 401', async ({ method, path }) => {
    expectError(await call(method, path(), { body: method === 'POST' || method === 'PATCH' ? { name: 'x' } : undefined }), 401, 'token_missing');
  });

  it.each([
    { name: 'get', run: (id: string, townId: string) => getConvoy(id, token, townId) },
    { name: 'patch', run: (id: string, townId: string) => call('PATCH', `${convoys(townId)}/${id}`, { token, body: { name: 'mine now' } }) },
    { name: 'delete', run: (id: string, townId: string) => call('DELETE', `${convoys(townId)}/${id}`, { token }) },
  ])("$name another user's convoy → 404, through their town or through mine", async ({ run }) => {
    expectError(await run(otherConvoy.id, otherTown.id), 404, 'not_found');
    expectError(await run(otherConvoy.id, town.id), 404, 'not_found');
    expect((await getConvoy(otherConvoy.id, otherToken, otherTown.id)).body.convoy).toMatchObject({ name: 'theirs', status: 'open' });
  });

  it("listing or creating in another user's town → 404", async () => {
    expectError(await call('GET', convoys(otherTown.id), { token }), 404, 'not_found');
    expectError(await call('POST', convoys(otherTown.id), { token, body: { name: 'x', beadIds: [otherBead.id] } }), 404, 'not_found');
  });
});

describe('progress and landing', () => {
  it('progress counts closed beads; the last close lands the convoy with one convoy.landed event; closing again changes nothing', async () => {
    const a = await bead('A');
    const b = await bead('B');
    const convoy = await create({ name: 'two', beadIds: [a.id, b.id] });
    expect((await closeBead(a.id)).status).toBe(200);
    expect((await getConvoy(convoy.id)).body.convoy).toMatchObject({ status: 'open', progress: { closed: 1, total: 2 }, landedAt: null });
    expect(await landedEvents({ userToken: token, town }, convoy.id)).toEqual([]);

    expect((await closeBead(b.id)).status).toBe(200);
    const landed = (await getConvoy(convoy.id)).body.convoy as Convoy;
    expect(landed).toMatchObject({ status: 'landed', progress: { closed: 2, total: 2 } });
    expect(landed.landedAt).toEqual(expect.any(Number));
    const events = await landedEvents({ userToken: token, town }, convoy.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ convoyId: convoy.id, name: 'two', closed: 2, total: 2, createdBy: 'user' });

    // landing is once: a bead reopened and closed again, or any later change, records nothing more
    expect((await call('POST', `${beadsPath()}/${a.id}/reopen`, { token, body: {} })).status).toBe(200);
    expect((await getConvoy(convoy.id)).body.convoy).toMatchObject({ status: 'landed', progress: { closed: 1, total: 2 } });
    expect((await closeBead(a.id)).status).toBe(200);
    expect(await landedEvents({ userToken: token, town }, convoy.id)).toHaveLength(1);
  });

  it('a convoy of beads that are all closed already lands when it is created', async () => {
    const a = await bead('already done');
    await closeBead(a.id);
    const convoy = await create({ name: 'done already', beadIds: [a.id] });
    expect(convoy).toMatchObject({ status: 'landed', progress: { closed: 1, total: 1 } });
    expect(await landedEvents({ userToken: token, town }, convoy.id)).toHaveLength(1);
  });

  it('a merge that closes the last bead lands the convoy (the refinery path, not only a user close)', async () => {
    const f = await setupTown();
    const convoy = await create({ name: 'merged', beadIds: [f.bead.id] }, f.userToken, f.town.id);
    const mr = (await callTool(f.polecat, 'done', { branch: ownBranch(f.polecat) })).body.mergeRequest as Bead;
    const merged = await mergeResult(f.refinery, { mergeRequestBeadId: mr.id, outcome: 'merged', commitSha: 'b'.repeat(40) });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect((await getConvoy(convoy.id, f.userToken, f.town.id)).body.convoy).toMatchObject({ status: 'landed', progress: { closed: 1, total: 1 } });
    expect(await landedEvents(f, convoy.id)).toHaveLength(1);
  });

  it('a deleted bead leaves its convoy: the rest closed lands it', async () => {
    const a = await bead('kept');
    const b = await bead('deleted');
    const convoy = await create({ name: 'shrinks', beadIds: [a.id, b.id] });
    await closeBead(a.id);
    expect((await call('DELETE', `${beadsPath()}/${b.id}`, { token })).status).toBe(200);
    expect((await getConvoy(convoy.id)).body.convoy).toMatchObject({ beadIds: [a.id], status: 'landed', progress: { closed: 1, total: 1 } });
  });
});

describe('edit, cancel, delete', () => {
  it('rename, add and remove beads; progress follows; a convoy.updated event names the fields', async () => {
    const a = await bead('A');
    const b = await bead('B');
    const c = await bead('C');
    const convoy = await create({ name: 'edit me', beadIds: [a.id, b.id] });
    const res = await call('PATCH', `${convoys()}/${convoy.id}`, {
      token,
      body: { name: 'edited', goal: 'new goal', addBeadIds: [c.id], removeBeadIds: [a.id] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.convoy).toMatchObject({ name: 'edited', goal: 'new goal', beadIds: [b.id, c.id], progress: { closed: 0, total: 2 } });
    const events = await townEvents({ userToken: token, town });
    expect(events.find((e) => e.type === 'convoy.updated' && e.data.convoyId === convoy.id)?.data.fields).toEqual([
      'name',
      'goal',
      'addBeadIds',
      'removeBeadIds',
    ]);
  });

  it.each([
    { name: 'an empty patch', body: () => ({}) },
    { name: 'an unknown field', body: () => ({ status: 'landed' }) },
    { name: 'a bead not in this town', body: () => ({ addBeadIds: ['bd_00000000'] }) },
  ])('$name → 400 validation_failed', async ({ body }) => {
    const convoy = await create({ name: 'x', beadIds: [(await bead('x')).id] });
    expectError(await call('PATCH', `${convoys()}/${convoy.id}`, { token, body: body() }), 400, 'validation_failed');
  });

  it('removing every bead → 400 (delete the convoy instead)', async () => {
    const a = await bead('only');
    const convoy = await create({ name: 'x', beadIds: [a.id] });
    expectError(await call('PATCH', `${convoys()}/${convoy.id}`, { token, body: { removeBeadIds: [a.id] } }), 400, 'validation_failed');
  });

  it('cancel: status cancelled, beads untouched, never lands; adding beads then → 409; a landed convoy cannot be cancelled (409)', async () => {
    const a = await bead('A');
    const convoy = await create({ name: 'cancel me', beadIds: [a.id] });
    const res = await call('PATCH', `${convoys()}/${convoy.id}`, { token, body: { status: 'cancelled' } });
    expect(res.status).toBe(200);
    expect(res.body.convoy.status).toBe('cancelled');
    expect((await call('GET', `${beadsPath()}/${a.id}`, { token })).body.bead.status).toBe('open');
    await closeBead(a.id);
    expect((await getConvoy(convoy.id)).body.convoy.status).toBe('cancelled');
    expect(await landedEvents({ userToken: token, town }, convoy.id)).toEqual([]);
    expectError(await call('PATCH', `${convoys()}/${convoy.id}`, { token, body: { addBeadIds: [(await bead('late')).id] } }), 409, 'conflict');

    const done = await create({ name: 'landed', beadIds: [a.id] });
    expect(done.status).toBe('landed');
    expectError(await call('PATCH', `${convoys()}/${done.id}`, { token, body: { status: 'cancelled' } }), 409, 'conflict');
  });

  it('delete: gone afterwards (404), its beads stay; deleting again → 404', async () => {
    const a = await bead('stays');
    const convoy = await create({ name: 'delete me', beadIds: [a.id] });
    const res = await call('DELETE', `${convoys()}/${convoy.id}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deleted: true, convoyId: convoy.id });
    expectError(await getConvoy(convoy.id), 404, 'not_found');
    expectError(await call('DELETE', `${convoys()}/${convoy.id}`, { token }), 404, 'not_found');
    expect((await call('GET', `${beadsPath()}/${a.id}`, { token })).status).toBe(200);
  });
});

describe('list: status filter and pagination bounds', () => {
  it('filters by status and pages with the cursor, every convoy once, oldest first', async () => {
    const t = await createUserToken();
    const tw = await createTown(t);
    const rg = await addRig(t, tw.id);
    const made: Convoy[] = [];
    for (let i = 0; i < 5; i++) made.push(await create({ name: `c${i}`, beadIds: [(await bead(`b${i}`, {}, t, tw.id, rg.id)).id] }, t, tw.id));
    await call('PATCH', `${convoys(tw.id)}/${made[1]!.id}`, { token: t, body: { status: 'cancelled' } });
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: any } = await call('GET', `${convoys(tw.id)}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: t });
      expect(res.status).toBe(200);
      all.push(...(res.body.convoys as Convoy[]).map((c) => c.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(all).toEqual(made.map((c) => c.id));
    const cancelled = await call('GET', `${convoys(tw.id)}?status=cancelled`, { token: t });
    expect((cancelled.body.convoys as Convoy[]).map((c) => c.id)).toEqual([made[1]!.id]);
    expect((await call('GET', `${convoys(tw.id)}?limit=${PAGE_LIMITS.maxLimit}`, { token: t })).body.convoys).toHaveLength(5);
  });

  it.each([
    { name: 'limit 0', query: 'limit=0' },
    { name: `limit ${PAGE_LIMITS.maxLimit + 1}`, query: `limit=${PAGE_LIMITS.maxLimit + 1}` },
    { name: 'an unknown status', query: 'status=done' },
    { name: 'a cursor of another list (beads)', query: `cursor=${btoa('beads.1.bd_aaaaaaaa').replace(/=+$/, '')}` },
    { name: 'an unknown filter', query: 'owner=me' },
  ])('$name → 400 validation_failed', async ({ query }) => {
    expectError(await call('GET', `${convoys()}?${query}`, { token }), 400, 'validation_failed');
  });
});

describe("the mayor's gt_sling_batch, gt_list_convoys, gt_convoy_status", () => {
  it('gt_sling_batch creates the beads (dependsOn by index) and one convoy; gt_list_convoys and gt_convoy_status show it', async () => {
    const f = await setupTown();
    const res = await callTool(f.mayor, 'sling_batch', {
      name: 'Three steps',
      goal: 'A, B, then C',
      beads: [
        { rigId: f.rig.id, title: 'A', priority: 1 },
        { rigId: f.rig.id, title: 'B', labels: ['backend'] },
        { rigId: f.rig.id, title: 'C', body: 'after A and B', dependsOn: [0, 1, f.bead.id] },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [a, b, c] = res.body.beads as Bead[];
    expect(a).toMatchObject({ title: 'A', priority: 1, status: 'open', metadata: { createdBy: f.mayor.agent.id } });
    expect(b).toMatchObject({ title: 'B', labels: ['backend'] });
    expect(c).toMatchObject({ title: 'C', body: 'after A and B', dependsOn: [a!.id, b!.id, f.bead.id] });
    expect(res.body.convoy).toMatchObject({
      name: 'Three steps',
      goal: 'A, B, then C',
      beadIds: [a!.id, b!.id, c!.id],
      status: 'open',
      progress: { closed: 0, total: 3 },
      createdBy: f.mayor.agent.id,
    });

    const listed = await callTool(f.mayor, 'list_convoys', { status: 'open' });
    expect(listed.status).toBe(200);
    expect((listed.body.convoys as Convoy[]).map((x) => x.id)).toEqual([res.body.convoy.id]);
    const status = await callTool(f.mayor, 'convoy_status', { convoyId: res.body.convoy.id });
    expect(status.status).toBe(200);
    expect((status.body.beads as Bead[]).map((x) => x.title)).toEqual(['A', 'B', 'C']);
    // the user sees the mayor's convoy
    expect((await getConvoy(res.body.convoy.id, f.userToken, f.town.id)).body.convoy.createdBy).toBe(f.mayor.agent.id);
  });

  it.each([
    { name: 'an index that is not an earlier bead', beads: (r: string) => [{ rigId: r, title: 'A', dependsOn: [0] }] },
    {
      name: 'an index past the batch',
      beads: (r: string) => [
        { rigId: r, title: 'A' },
        { rigId: r, title: 'B', dependsOn: [5] },
      ],
    },
    { name: 'no beads', beads: () => [] },
    { name: 'a bead without a title', beads: (r: string) => [{ rigId: r }] },
    { name: 'more than 20 beads', beads: (r: string) => Array.from({ length: 21 }, (_, i) => ({ rigId: r, title: `b${i}` })) },
    {
      name: 'an unknown dependency (all or nothing: the first bead is not kept)',
      beads: (r: string) => [
        { rigId: r, title: 'A' },
        { rigId: r, title: 'B', dependsOn: ['bd_00000000'] },
      ],
    },
  ])('$name → 400 validation_failed, nothing created', async ({ beads }) => {
    const f = await setupTown();
    const before = (await call('GET', `${beadsPath(f.town.id)}?limit=500`, { token: f.userToken })).body.beads.length;
    expectError(await callTool(f.mayor, 'sling_batch', { name: 'bad', beads: beads(f.rig.id) }), 400, 'validation_failed');
    expect((await call('GET', `${beadsPath(f.town.id)}?limit=500`, { token: f.userToken })).body.beads.length).toBe(before);
    expect((await call('GET', convoys(f.town.id), { token: f.userToken })).body.convoys).toEqual([]);
  });

  it('an unknown rig → 404, nothing created; an unknown convoy → 404; a polecat may not call them (403)', async () => {
    const f = await setupTown();
    expectError(
      await callTool(f.mayor, 'sling_batch', {
        name: 'x',
        beads: [
          { rigId: f.rig.id, title: 'A' },
          { rigId: 'rig_00000000', title: 'B' },
        ],
      }),
      404,
      'not_found',
    );
    expect((await call('GET', convoys(f.town.id), { token: f.userToken })).body.convoys).toEqual([]);
    expectError(await callTool(f.mayor, 'convoy_status', { convoyId: 'cv_00000000' }), 404, 'not_found');
    expectError(await callTool(f.polecat, 'list_convoys', {}), 403, 'role_forbidden');
    expectError(await callTool(f.polecat, 'sling_batch', { name: 'x', beads: [{ rigId: f.rig.id, title: 'A' }] }), 403, 'role_forbidden');
  });
});
