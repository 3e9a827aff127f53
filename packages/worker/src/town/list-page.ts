/**
 * Keyset pagination of the town's lists (agents, beads, mail): items in (created_at, id) order,
 * a page starts strictly after the key of the previous page's last item. Unlike an offset, a key
 * stays right while rows are added: nothing is skipped or read twice.
 */

/** Where a page starts: after this item, in (createdAt, id) order. */
export interface PageKey {
  createdAt: number;
  id: string;
}

export interface PageRequest {
  limit: number;
  after: PageKey | null;
}

export interface Page<T> {
  items: T[];
  /** Key of the last item when more follow; null on the last page. */
  next: PageKey | null;
}

/** The bound values of a keyset WHERE clause: `(afterAt IS NULL OR created_at > afterAt OR (created_at = afterAt AND id > afterId))`. */
export function keysetBounds(request: PageRequest): { afterAt: number | null; afterId: string; fetch: number } {
  return { afterAt: request.after?.createdAt ?? null, afterId: request.after?.id ?? '', fetch: request.limit + 1 };
}

/** Rows read with LIMIT `limit + 1` → the page (the extra row only says that more follow). */
export function toPage<R, T>(rows: readonly R[], limit: number, keyOf: (row: R) => PageKey, map: (row: R) => T): Page<T> {
  const pageRows = rows.slice(0, limit);
  const last = pageRows.at(-1);
  return { items: pageRows.map(map), next: rows.length > limit && last !== undefined ? keyOf(last) : null };
}

export function mapPage<T, U>(page: Page<T>, map: (item: T) => U): Page<U> {
  return { items: page.items.map(map), next: page.next };
}
