/**
 * Real Durable Object SQLite state, written the way `wrangler dev` writes it (miniflare with
 * on-disk persistence): a TownDO-like object that stores each posted body as an event row.
 * Miniflare comes with wrangler (no extra dependency).
 */
import { Miniflare } from 'miniflare';

const SCRIPT = `
import { DurableObject } from 'cloudflare:workers';
export class EventStore extends DurableObject {
  async fetch(request) {
    const sql = this.ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL)');
    sql.exec('INSERT INTO events (type, data) VALUES (?, ?)', 'agent.event', await request.text());
    return new Response(String(sql.exec('SELECT count(*) AS n FROM events').one().n));
  }
}
export default {
  fetch(request, env) {
    return env.EVENTS.get(env.EVENTS.idFromName('town_leakscan1')).fetch(request);
  },
};
`;

/** Store each body as an event row in a persisted SQLite-backed Durable Object under `persistDir`. */
export async function writeDurableObjectEvents(persistDir: string, bodies: readonly string[]): Promise<void> {
  const mf = new Miniflare({
    modules: true,
    script: SCRIPT,
    compatibilityDate: '2026-04-20',
    durableObjects: { EVENTS: { className: 'EventStore', useSQLite: true } },
    durableObjectsPersist: persistDir,
  });
  try {
    for (const body of bodies) {
      const res = await mf.dispatchFetch('http://town.test/', { method: 'POST', body });
      if (res.status !== 200) throw new Error(`event store answered ${res.status}`);
      await res.text();
    }
  } finally {
    await mf.dispose();
  }
}
