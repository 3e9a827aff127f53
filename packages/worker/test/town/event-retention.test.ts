/**
 * Event retention: a town's event tables are pruned past a row cap and an age, by bounded passes
 * (pruneEvents, called from the alarm). Rows are written through the town's own repositories
 * inside the TownDO, at times set with vi.setSystemTime.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import type { TownEvent } from '@gastown/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Sql } from '../../src/storage/sql';
import { DEFAULT_EVENT_RETENTION, pruneEvents, type EventRetention } from '../../src/town/event-retention';
import { AgentEventRepository, TownEventRepository } from '../../src/town/repositories/event-repository';
import { call, createTown, createUserToken } from '../helpers';

const DAY_MS = 24 * 3600_000;

interface Counts {
  townEvents: number;
  agentEvents: number;
  oldestTownEventAt: number | null;
}

/** Run `fn` with the town's event repositories, inside its Durable Object. */
function inTown<T>(townId: string, fn: (repos: { townEvents: TownEventRepository; agentEvents: AgentEventRepository; sql: Sql }) => T): Promise<T> {
  const stub = env.TOWN.get(env.TOWN.idFromName(townId));
  return runInDurableObject(stub, (_instance, state) => {
    const sql = new Sql(state.storage.sql);
    return fn({ townEvents: new TownEventRepository(sql, townId), agentEvents: new AgentEventRepository(sql), sql });
  });
}

/** `n` town events and `n` agent events, recorded now (Date.now(), i.e. the fake clock). */
function record(townId: string, n: number, tag: string): Promise<void> {
  return inTown(townId, ({ townEvents, agentEvents }) => {
    const now = Date.now();
    for (let i = 0; i < n; i++) townEvents.insert({ type: 'test.filler', data: { tag, i } }, now);
    const events = Array.from({ length: n }, (_, i) => ({ id: `evt_${tag}_${i}`, type: 'agent.debug_note', at: now, data: { i } }));
    agentEvents.insertMany('ag_retention0001', events, now);
  });
}

function counts(townId: string): Promise<Counts> {
  return inTown(townId, ({ sql }) => ({
    townEvents: Number(sql.one<{ n: number }>`SELECT COUNT(*) AS n FROM town_events`?.n),
    agentEvents: Number(sql.one<{ n: number }>`SELECT COUNT(*) AS n FROM agent_events`?.n),
    oldestTownEventAt: (sql.one<{ at: number | null }>`SELECT MIN(at) AS at FROM town_events`?.at as number | null) ?? null,
  }));
}

function prune(townId: string, retention?: EventRetention) {
  return inTown(townId, (repos) => pruneEvents(repos, Date.now(), retention));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('event retention', () => {
  it('defaults: 10,000 rows and 7 days per table, at most 1,000 rows per pass', () => {
    expect(DEFAULT_EVENT_RETENTION).toEqual({ maxRows: 10_000, maxAgeMs: 7 * DAY_MS, batchRows: 1_000 });
  });

  it('past the row cap: bounded passes prune the oldest rows down to the newest 10,000, then stop', async () => {
    const town = await createTown(await createUserToken());
    const start = Date.now();
    vi.setSystemTime(start);
    await record(town.id, 10_000, 'a');
    vi.setSystemTime(start + 60_000);
    await record(town.id, 1_500, 'b');
    const before = await counts(town.id);
    expect(before.townEvents).toBeGreaterThan(11_500); // + the town's own events (town.created, …)
    expect(before.agentEvents).toBe(11_500);

    const first = await prune(town.id);
    expect(first).toEqual({ townEvents: 1_000, agentEvents: 1_000, more: true });
    const second = await prune(town.id);
    expect(second.agentEvents).toBe(500);
    expect(second.townEvents).toBe(before.townEvents - 10_000 - 1_000);
    expect(second.more).toBe(false);
    expect(await prune(town.id)).toEqual({ townEvents: 0, agentEvents: 0, more: false });

    const after = await counts(town.id);
    expect(after).toMatchObject({ townEvents: 10_000, agentEvents: 10_000 });
    // what went is the oldest: every "b" event is still there, and the newest "a" ones
    const kept = await inTown(
      town.id,
      ({ sql }) => sql.all<{ tag: string; n: number }>`SELECT json_extract(data, '$.tag') AS tag, COUNT(*) AS n FROM town_events GROUP BY tag ORDER BY tag`,
    );
    expect(kept).toEqual([
      { tag: 'a', n: 8_500 },
      { tag: 'b', n: 1_500 },
    ]);
    const keptAgent = await inTown(town.id, ({ sql }) => Number(sql.one<{ n: number }>`SELECT COUNT(*) AS n FROM agent_events WHERE id LIKE 'evt_b_%'`?.n));
    expect(keptAgent).toBe(1_500);
  });

  it('past the age: events older than 7 days go, younger ones stay; the event API pages on from what is left', async () => {
    const start = Date.now();
    vi.setSystemTime(start);
    const token = await createUserToken();
    const town = await createTown(token);
    await record(town.id, 50, 'old');
    vi.setSystemTime(start + 3 * DAY_MS);
    await record(town.id, 20, 'young');

    vi.setSystemTime(start + 7 * DAY_MS - 1);
    expect(await prune(town.id)).toEqual({ townEvents: 0, agentEvents: 0, more: false });

    vi.setSystemTime(start + 7 * DAY_MS + 1);
    const pruned = await prune(town.id);
    expect(pruned.agentEvents).toBe(50);
    expect(pruned.townEvents).toBeGreaterThanOrEqual(50); // + the town's own events of `start`
    const after = await counts(town.id);
    expect(after).toMatchObject({ townEvents: 20, agentEvents: 20, oldestTownEventAt: start + 3 * DAY_MS });

    const res = await call('GET', `/api/towns/${town.id}/events?after=0&limit=500`, { token });
    expect(res.status).toBe(200);
    expect((res.body.events as TownEvent[]).map((e) => e.data.tag)).toEqual(Array(20).fill('young'));

    vi.setSystemTime(start + 10 * DAY_MS + 1);
    await prune(town.id);
    expect(await counts(town.id)).toMatchObject({ townEvents: 0, agentEvents: 0 });
  });

  it('a smaller policy applies as given; a bad one is config_invalid', async () => {
    const town = await createTown(await createUserToken());
    vi.setSystemTime(Date.now());
    await record(town.id, 30, 'p');
    expect(await prune(town.id, { maxRows: 10, maxAgeMs: DAY_MS, batchRows: 15 })).toMatchObject({ agentEvents: 15, more: true });
    expect(await prune(town.id, { maxRows: 10, maxAgeMs: DAY_MS, batchRows: 15 })).toMatchObject({ agentEvents: 5 });
    expect(await counts(town.id)).toMatchObject({ townEvents: 10, agentEvents: 10 });
    await expect(prune(town.id, { maxRows: 0, maxAgeMs: DAY_MS, batchRows: 15 })).rejects.toMatchObject({ code: 'config_invalid' });
  });
});
