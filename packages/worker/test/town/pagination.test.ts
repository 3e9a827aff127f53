/**
 * Paginated user lists (agents, beads, mail, events): `limit` (1–500, default 100) and an opaque
 * `cursor`; `nextCursor` until the last page. Rows are seeded straight into the town's storage,
 * many with the same created_at so the id tie-break is exercised.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { PAGE_LIMITS, type Bead } from '@gastown/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { Sql } from '../../src/storage/sql';
import { createIdFactory, cryptoRandomBytes } from '../../src/town/ids';
import { BeadRepository } from '../../src/town/repositories/bead-repository';
import { MailRepository } from '../../src/town/repositories/mail-repository';
import { addRig, call, createTown, createUserToken, expectError, spawnAgent } from '../helpers';

const ids = createIdFactory(cryptoRandomBytes);

let token: string;
let townId: string;
let mayorId: string;
const BEADS = 105;
const CLOSED = 7;
const MAIL = 9;

function inTown<T>(fn: (sql: Sql) => T): Promise<T> {
  return runInDurableObject(env.TOWN.get(env.TOWN.idFromName(townId)), (_i, state) => fn(new Sql(state.storage.sql)));
}

async function get(path: string) {
  return call('GET', `/api/towns/${townId}${path}`, { token });
}

/** Follow nextCursor from the first page; returns the pages' sizes and every item id. */
async function walk(path: string, key: string, limit: number): Promise<{ sizes: number[]; ids: (string | number)[] }> {
  const sizes: number[] = [];
  const seen: (string | number)[] = [];
  let cursor: string | null = null;
  const sep = path.includes('?') ? '&' : '?';
  for (let page = 0; page < 50; page++) {
    const res = await get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    sizes.push(res.body[key].length);
    seen.push(...res.body[key].map((item: { id: string | number }) => item.id));
    cursor = res.body.nextCursor;
    if (cursor === null) return { sizes, ids: seen };
  }
  throw new Error('no last page');
}

beforeAll(async () => {
  token = await createUserToken();
  const town = await createTown(token);
  townId = town.id;
  const rig = await addRig(token, townId);
  await spawnAgent(townId, { role: 'polecat', rigId: rig.id });
  await spawnAgent(townId, { role: 'polecat', rigId: rig.id });
  await spawnAgent(townId, { role: 'refinery', rigId: rig.id });
  const agents = (await get('/agents')).body.agents as { id: string; role: string }[];
  mayorId = agents.find((a) => a.role === 'mayor')!.id;
  await inTown((sql) => {
    const beads = new BeadRepository(sql, townId);
    const now = Date.now();
    for (let i = 0; i < BEADS; i++) {
      // three timestamps only: ties are broken by id
      beads.insert({
        id: ids('bd'),
        rigId: rig.id,
        type: 'issue',
        status: i < CLOSED ? 'closed' : 'open',
        title: `b${i}`,
        body: '',
        assigneeId: null,
        metadata: {},
        now: now + (i % 3),
      });
    }
    const mail = new MailRepository(sql, townId);
    for (let i = 0; i < MAIL; i++) mail.insert({ id: ids('ml'), fromAgentId: null, toAgentId: mayorId, subject: `m${i}`, body: 'x', now });
  });
});

describe('paginated lists', () => {
  it(`a list without limit is its first ${PAGE_LIMITS.defaultLimit} items, with a nextCursor; the cursor gives the rest`, async () => {
    const first = await get('/beads');
    expect(first.status).toBe(200);
    expect(first.body.beads).toHaveLength(PAGE_LIMITS.defaultLimit);
    expect(typeof first.body.nextCursor).toBe('string');
    const rest = await get(`/beads?cursor=${first.body.nextCursor}`);
    expect(rest.body.beads).toHaveLength(BEADS - PAGE_LIMITS.defaultLimit);
    expect(rest.body.nextCursor).toBeNull();
    const all = await get(`/beads?limit=${PAGE_LIMITS.maxLimit}`);
    expect(all.body.beads).toHaveLength(BEADS);
    expect(all.body.nextCursor).toBeNull();
    expect([...first.body.beads, ...rest.body.beads].map((b: Bead) => b.id)).toEqual(all.body.beads.map((b: Bead) => b.id));
    // the order is (createdAt, id), as before pagination
    const keys = all.body.beads.map((b: Bead) => [b.createdAt, b.id] as const);
    expect([...keys].sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0))).toEqual(keys);
  });

  it.each([
    { name: 'beads', path: '/beads', key: 'beads', total: BEADS, limit: 17 },
    { name: 'beads by status', path: '/beads?status=closed', key: 'beads', total: CLOSED, limit: 3 },
    { name: 'mail', path: '/mail', key: 'mail', total: MAIL, limit: 4 },
    { name: 'agents', path: '/agents', key: 'agents', total: 4, limit: 1 },
  ])('$name: following nextCursor reads every item once, in order', async ({ path, key, total, limit }) => {
    const full = await get(`${path}${path.includes('?') ? '&' : '?'}limit=500`);
    expect(full.body[key]).toHaveLength(total);
    const walked = await walk(path, key, limit);
    expect(walked.ids).toEqual(full.body[key].map((item: { id: string }) => item.id));
    expect(walked.sizes.slice(0, -1).every((n) => n === limit)).toBe(true);
    expect(walked.sizes.at(-1)).toBe(total % limit || limit);
  });

  it('events: `after` still works, `cursor` continues from a page, and nextCursor is null once caught up', async () => {
    const full = await get('/events?limit=500');
    const total = full.body.events.length;
    expect(total).toBeGreaterThan(3);
    expect(full.body.nextCursor).toBeNull();
    const walked = await walk('/events', 'events', 2);
    expect(walked.ids).toEqual(full.body.events.map((e: { id: number }) => e.id));
    const afterFirst = await get(`/events?after=${full.body.events[0].id}&limit=1`);
    expect(afterFirst.body.events.map((e: { id: number }) => e.id)).toEqual([full.body.events[1].id]);
    expect(typeof afterFirst.body.nextCursor).toBe('string');
  });

  const BAD: { name: string; query: string; path?: string }[] = [
    { name: 'limit 0', query: 'limit=0' },
    { name: 'limit 501', query: 'limit=501' },
    { name: 'limit negative', query: 'limit=-5' },
    { name: 'limit fractional', query: 'limit=1.5' },
    { name: 'limit not a number', query: 'limit=ten' },
    { name: 'limit empty', query: 'limit=' },
    { name: 'limit twice', query: 'limit=1&limit=2' },
    { name: 'cursor empty', query: 'cursor=' },
    { name: 'cursor with characters outside base64url', query: 'cursor=abc%2Fdef' },
    { name: 'cursor too long', query: `cursor=${'a'.repeat(201)}` },
    { name: 'cursor that decodes to nothing of ours', query: `cursor=${btoa('hello').replace(/=+$/, '')}` },
    { name: 'unknown parameter', query: 'offset=10' },
  ];
  const ROUTES = ['/agents', '/beads', '/mail', '/events'];

  it.each(ROUTES.flatMap((path) => BAD.map((b) => ({ ...b, path }))))('$path?$query ($name) → 400 validation_failed', async ({ path, query }) => {
    const res = await get(`${path}?${query}`);
    expectError(res, 400, 'validation_failed');
  });

  it('a cursor of one list is refused by another; after and cursor together are refused', async () => {
    const beadCursor = (await get('/beads?limit=1')).body.nextCursor as string;
    const mailCursor = (await get('/mail?limit=1')).body.nextCursor as string;
    const eventCursor = (await get('/events?limit=1')).body.nextCursor as string;
    expect([beadCursor, mailCursor, eventCursor].every((c) => typeof c === 'string')).toBe(true);
    expectError(await get(`/mail?cursor=${beadCursor}`), 400, 'validation_failed');
    expectError(await get(`/agents?cursor=${mailCursor}`), 400, 'validation_failed');
    expectError(await get(`/beads?cursor=${eventCursor}`), 400, 'validation_failed');
    expectError(await get(`/events?cursor=${beadCursor}`), 400, 'validation_failed');
    expectError(await get(`/events?after=1&cursor=${eventCursor}`), 400, 'validation_failed');
  });

  it('the bounds themselves are accepted: limit 1 and limit 500', async () => {
    for (const path of ROUTES) {
      expect((await get(`${path}?limit=1`)).body).toMatchObject({ nextCursor: expect.any(String) });
      expect((await get(`${path}?limit=500`)).status).toBe(200);
    }
  });
});
