import type { TownEvent } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { latestEventId } from '../../src/client/event-cursor';

function fakeEvents(ids: number[]) {
  const calls: { after: number; limit: number }[] = [];
  const list = async (after: number, limit: number): Promise<TownEvent[]> => {
    calls.push({ after, limit });
    return ids
      .filter((id) => id > after)
      .slice(0, limit)
      .map((id) => ({ id, townId: 'town_aaaaaaaa', type: 't', agentId: null, beadId: null, data: {}, at: 0 }));
  };
  return { list, calls };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('latestEventId', () => {
  const cases: { name: string; ids: number[]; maxCalls: number }[] = [
    { name: 'no events', ids: [], maxCalls: 1 },
    { name: 'a small town: one page', ids: range(1, 42), maxCalls: 1 },
    { name: 'exactly one page', ids: range(1, 500), maxCalls: 3 },
    { name: 'a big town', ids: range(1, 123_457), maxCalls: 40 },
    { name: 'gaps in ids', ids: [...range(1, 600), 5_000, 77_777], maxCalls: 40 },
  ];
  for (const c of cases) {
    it(`${c.name}: finds the max in few requests`, async () => {
      const { list, calls } = fakeEvents(c.ids);
      expect(await latestEventId(list)).toBe(c.ids.at(-1) ?? 0);
      expect(calls.length).toBeLessThanOrEqual(c.maxCalls);
    });
  }
});
