// Safe for the dashboard bundle, which must not pull zod in: it imports only the zod-free gastown-error.
import { GastownError } from './gastown-error';

/**
 * Reading a whole paginated list of the user API (agents, beads, mail): follow `nextCursor` until
 * it is null. A server that never ends its list (a bug) cannot keep a client looping: the walk
 * fails when a page hands back a cursor already followed, or after `maxPages` pages.
 */

/** One page as a client reads it: its items and the cursor of the next page (null on the last). */
export interface ListPage<T> {
  items: readonly T[];
  nextCursor: string | null;
}

/**
 * `limit`: items asked for per page (the server's maximum, PAGE_LIMITS.maxLimit in user-api.ts,
 * kept here so the zod-free clients need not import that module). `maxPages`: 100 pages of 500
 * is 50,000 items, far past any real town.
 */
export const COLLECT_PAGES = { limit: 500, maxPages: 100 } as const;

export interface CollectPagesOptions {
  /** Pages read at most before giving up (default COLLECT_PAGES.maxPages). */
  maxPages?: number;
  /** The caller's own typed error for a list that does not end (default: GastownError `upstream_failed`). */
  runaway?: (reason: string) => Error;
}

/** Every item of the list, in order: `fetchPage(null)` first, then each `nextCursor` until null. */
export async function collectPages<T>(fetchPage: (cursor: string | null) => Promise<ListPage<T>>, options: CollectPagesOptions = {}): Promise<T[]> {
  const maxPages = options.maxPages ?? COLLECT_PAGES.maxPages;
  if (!Number.isSafeInteger(maxPages) || maxPages < 1) throw new GastownError('config_invalid', `maxPages must be a whole number ≥ 1, got ${maxPages}`);
  const runaway = options.runaway ?? ((reason: string) => new GastownError('upstream_failed', reason));
  const items: T[] = [];
  const followed = new Set<string>();
  let cursor: string | null = null;
  for (let page = 1; page <= maxPages; page++) {
    const { items: pageItems, nextCursor } = await fetchPage(cursor);
    for (const item of pageItems) items.push(item);
    if (nextCursor === null) return items;
    if (followed.has(nextCursor)) throw runaway(`page ${page} of the list pointed back to an earlier page`);
    followed.add(nextCursor);
    cursor = nextCursor;
  }
  throw runaway(`the list did not end after ${maxPages} pages`);
}
