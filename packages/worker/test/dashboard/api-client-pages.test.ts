/** The dashboard's ApiClient reads whole paginated lists (agents, beads, mail): it follows `nextCursor` until null. */
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../dashboard/src/api/api-client';
import { ApiError } from '../../dashboard/src/api/api-error';

const TOWN = 'town_aaaaaaaa';

/** A fake fetch answering `pages[cursor ?? 'first']`; every URL asked for is recorded. */
function fakeFetch(pages: Record<string, unknown>) {
  const urls: string[] = [];
  const fetchImpl = async (input: string) => {
    urls.push(input);
    const cursor = new URL(input, 'http://x').searchParams.get('cursor');
    const page = pages[cursor ?? 'first'];
    return page === undefined ? Response.json({ error: { code: 'not_found', message: 'no page' } }, { status: 404 }) : Response.json(page);
  };
  return { urls, fetchImpl };
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return err;
}

describe('dashboard ApiClient lists', () => {
  it('follows nextCursor across 3 pages: every item, in order, with the filter on each page', async () => {
    const fake = fakeFetch({
      first: { beads: [{ id: 'bd_1' }, { id: 'bd_2' }], nextCursor: 'cur2' },
      cur2: { beads: [{ id: 'bd_3' }], nextCursor: 'cur3' },
      cur3: { beads: [{ id: 'bd_4' }], nextCursor: null },
    });
    const beads = await new ApiClient('tok', fake.fetchImpl).listBeads(TOWN, 'open');
    expect(beads.map((b) => b.id)).toEqual(['bd_1', 'bd_2', 'bd_3', 'bd_4']);
    expect(fake.urls).toEqual([
      `/api/towns/${TOWN}/beads?status=open&limit=500`,
      `/api/towns/${TOWN}/beads?status=open&limit=500&cursor=cur2`,
      `/api/towns/${TOWN}/beads?status=open&limit=500&cursor=cur3`,
    ]);
  });

  it('agents and mail page the same way; a page without nextCursor is the last', async () => {
    const agents = fakeFetch({ first: { agents: [{ id: 'ag_1' }], nextCursor: 'cur2' }, cur2: { agents: [{ id: 'ag_2' }] } });
    expect((await new ApiClient('tok', agents.fetchImpl).listAgents(TOWN)).map((a) => a.id)).toEqual(['ag_1', 'ag_2']);
    const mail = fakeFetch({ first: { mail: [{ id: 'm1' }], nextCursor: null } });
    expect((await new ApiClient('tok', mail.fetchImpl).listMail(TOWN)).map((m) => m.id)).toEqual(['m1']);
    expect(mail.urls).toEqual([`/api/towns/${TOWN}/mail?limit=500`]);
  });

  it('a list that never ends: bad_response after 100 pages', async () => {
    let n = 0;
    const fetchImpl = async () => Response.json({ agents: [], nextCursor: `c${++n}` });
    const err = await failure(new ApiClient('tok', fetchImpl).listAgents(TOWN));
    expect(err.code).toBe('bad_response');
    expect(n).toBe(100);
  });

  it('a page without its list: bad_response', async () => {
    const fake = fakeFetch({ first: { nextCursor: null } });
    expect((await failure(new ApiClient('tok', fake.fetchImpl).listMail(TOWN))).code).toBe('bad_response');
  });
});
