/**
 * The id of the town's latest event, so a command can follow only what happens after it acts.
 * The events API lists ascending from a cursor; one page answers for a small town, a galloping
 * search over `after` (limit 1) for a big one: O(log n) small requests.
 */
import type { TownEvent } from '@gastown/protocol';

export type ListEvents = (after: number, limit: number) => Promise<TownEvent[]>;

const PAGE = 500;

export async function latestEventId(list: ListEvents): Promise<number> {
  const first = await list(0, PAGE);
  const lastOfFirst = first.at(-1)?.id ?? 0;
  if (first.length < PAGE) return lastOfFirst;
  const exists = async (after: number) => (await list(after, 1)).length > 0;
  if (!(await exists(lastOfFirst))) return lastOfFirst;
  // Invariant: an event with id > lo exists (lastOfFirst itself); none with id > hi.
  let lo = lastOfFirst - 1;
  let step = PAGE;
  let hi = lo + step;
  while (await exists(hi)) {
    lo = hi;
    step *= 2;
    hi = lo + step;
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await exists(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}
