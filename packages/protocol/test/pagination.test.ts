import { describe, expect, it } from 'vitest';
import { GastownError } from '../src/errors';
import { COLLECT_PAGES, collectPages, type ListPage } from '../src/pagination';
import { PAGE_LIMITS } from '../src/user-api';

/** A list served as `pages`, keyed by cursor (`null` = the first page); every cursor asked for is recorded. */
function pagedList<T>(pages: Record<string, ListPage<T>>) {
  const asked: (string | null)[] = [];
  const fetchPage = async (cursor: string | null): Promise<ListPage<T>> => {
    asked.push(cursor);
    const page = pages[cursor ?? 'first'];
    if (!page) throw new GastownError('not_found', `no page ${cursor}`);
    return page;
  };
  return { asked, fetchPage };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (e: unknown) => e,
  );
}

describe('collectPages', () => {
  it('follows nextCursor until null and keeps every item in order', async () => {
    const list = pagedList({
      first: { items: [1, 2], nextCursor: 'c2' },
      c2: { items: [3, 4], nextCursor: 'c3' },
      c3: { items: [5], nextCursor: null },
    });
    expect(await collectPages(list.fetchPage)).toEqual([1, 2, 3, 4, 5]);
    expect(list.asked).toEqual([null, 'c2', 'c3']);
  });

  it('one page when the first has no next', async () => {
    const list = pagedList({ first: { items: ['a'], nextCursor: null } });
    expect(await collectPages(list.fetchPage)).toEqual(['a']);
    expect(list.asked).toEqual([null]);
  });

  it('a list that never ends fails after maxPages pages, with the caller’s error', async () => {
    let n = 0;
    const fetchPage = async () => ({ items: [n], nextCursor: `c${++n}` });
    const err = await failure(collectPages(fetchPage, { maxPages: 3, runaway: (reason) => new GastownError('conflict', reason) }));
    expect(err).toBeInstanceOf(GastownError);
    expect((err as GastownError).code).toBe('conflict');
    expect(n).toBe(3);
  });

  it('the default cap is COLLECT_PAGES.maxPages, and the default error is upstream_failed', async () => {
    let n = 0;
    const err = await failure(collectPages(async () => ({ items: [], nextCursor: `c${++n}` })));
    expect((err as GastownError).code).toBe('upstream_failed');
    expect(n).toBe(COLLECT_PAGES.maxPages);
  });

  it('a cursor that points back to an earlier page fails at once instead of looping to the cap', async () => {
    const list = pagedList({
      first: { items: [1], nextCursor: 'c2' },
      c2: { items: [2], nextCursor: 'c3' },
      c3: { items: [3], nextCursor: 'c2' },
    });
    const err = await failure(collectPages(list.fetchPage));
    expect((err as GastownError).code).toBe('upstream_failed');
    expect(list.asked).toEqual([null, 'c2', 'c3']);
  });

  it.each([
    { name: 'zero', maxPages: 0 },
    { name: 'negative', maxPages: -1 },
    { name: 'fractional', maxPages: 1.5 },
  ])('maxPages $name is config_invalid, before any request', async ({ maxPages }) => {
    const list = pagedList({ first: { items: [1], nextCursor: null } });
    const err = await failure(collectPages(list.fetchPage, { maxPages }));
    expect((err as GastownError).code).toBe('config_invalid');
    expect(list.asked).toEqual([]);
  });

  it('asks for the largest page the server allows', () => {
    expect(COLLECT_PAGES.limit).toBe(PAGE_LIMITS.maxLimit);
  });
});
