import { env, runInDurableObject } from 'cloudflare:test';
import { GastownError } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/storage/migrate';
import { Sql } from '../../src/storage/sql';
import type { ContainerClient } from '../../src/town/container-client';
import { TOWN_MIGRATIONS } from '../../src/town/schema';
import { createTownServices, type TownServices } from '../../src/town/services/index';
import { call, setupTown, uniqueName } from '../helpers';
import { NullContainerClient } from '../../src/town/container-client';
import { townContextOf } from '../support/town-context';

/** Services of an existing town over its real storage, with a chosen container client. */
function withServices<T>(townId: string, container: ContainerClient, fn: (s: TownServices) => Promise<T>): Promise<T> {
  const stub = env.TOWN.get(env.TOWN.idFromName(townId));
  return runInDurableObject(stub, (_instance, state) => {
    const ctx = townContextOf(state, townId, { container });
    return fn(createTownServices(ctx));
  });
}

/** A container client whose every method records its call; `push`/`deliver`/`status` behave as told. */
function fakeContainer(behaviour: {
  push?: () => Promise<'delivered' | 'not_running'>;
  running?: boolean;
  deliver?: () => Promise<'delivered' | 'not_running'>;
}) {
  const calls: { method: string; args: unknown[] }[] = [];
  const base = new NullContainerClient();
  const client: ContainerClient = {
    start: (req) => base.start(req),
    stop: async (...args) => (calls.push({ method: 'stop', args }), 'not_running'),
    merge: (req) => base.merge(req),
    push: async (...args) => (calls.push({ method: 'push', args }), behaviour.push ? behaviour.push() : 'not_running'),
    deliver: async (...args) => (calls.push({ method: 'deliver', args }), behaviour.deliver ? behaviour.deliver() : 'not_running'),
    nudge: async (...args) => (calls.push({ method: 'nudge', args }), 'not_running'),
    configure: async () => {},
    keepAwake: async () => false,
    restart: async () => ({ wasRunning: false }),
    removeRig: async () => 'container_asleep',
    destroy: async () => ({ wasRunning: false }),
    status: async (agentId) =>
      behaviour.running
        ? {
            agentId,
            role: 'mayor',
            gen: 1,
            runtimeState: 'running',
            activity: 'waiting',
            pid: 1,
            sessionId: null,
            startedAt: 0,
            credential: {
              accessTokenExpiresAt: 0,
              tokenFingerprint: '00000000',
              nextRefreshAt: null,
              lastRefreshAt: null,
              lastRefreshSource: null,
              refreshCount: 0,
              consecutiveFailures: 0,
              unauthorizedCount: 0,
              lastError: null,
              state: 'valid',
            },
            lastError: null,
          }
        : null,
  };
  return { client, calls };
}

describe('schema migrations', () => {
  it('are recorded in schema_version and idempotent', async () => {
    const stub = env.TOWN.get(env.TOWN.idFromName(uniqueName('migrations')));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = new Sql(state.storage.sql);
      const latest = Math.max(...TOWN_MIGRATIONS.map((m) => m.version));
      expect(sql.one<{ version: number }>`SELECT version FROM schema_version`?.version).toBe(latest);
      expect(runMigrations(sql, (f) => state.storage.transactionSync(f), TOWN_MIGRATIONS)).toBe(latest);
      const tables = sql.all<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`.map((r) => r.name);
      expect(tables).toEqual(
        expect.arrayContaining([
          'agents',
          'beads',
          'mail',
          'agent_events',
          'town_events',
          'mayor_messages',
          'rigs',
          'town',
          'town_env_vars',
          'credential_families',
          'refresh_credentials',
        ]),
      );
    });
  });

  it('apply only the steps newer than the stored version', async () => {
    const stub = env.TOWN.get(env.TOWN.idFromName(uniqueName('migrations2')));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = new Sql(state.storage.sql);
      const tx = <T>(f: () => T) => state.storage.transactionSync(f);
      const next = { version: 999, name: 'test', statements: ['CREATE TABLE migration_probe (x INTEGER)'] };
      expect(runMigrations(sql, tx, [...TOWN_MIGRATIONS, next])).toBe(999);
      expect(runMigrations(sql, tx, [...TOWN_MIGRATIONS, next])).toBe(999); // would throw "table exists" if re-run
    });
  });
});

describe('reissue outcomes with a container', () => {
  it('delivered: the container received grant + refresh credential for the new gen (gen + 1)', async () => {
    const f = await setupTown();
    const fake = fakeContainer({ push: async () => 'delivered' });
    const result = await withServices(f.town.id, fake.client, (s) => s.agents.reissue(f.polecat.agent.id));
    expect(result.outcome).toBe('delivered');
    expect(fake.calls).toHaveLength(1);
    const [agentId, pushed] = fake.calls[0]!.args as [string, { grant: { gen: number; accessToken: string }; refresh: { refreshCredential: string } }];
    expect(agentId).toBe(f.polecat.agent.id);
    expect(pushed.grant.gen).toBe(2);
    expect(pushed.refresh.refreshCredential.startsWith('gtr_')).toBe(true);
    // the pushed refresh credential is live
    expect((await call('POST', `/agent/towns/${f.town.id}/refresh`, { token: pushed.refresh.refreshCredential })).status).toBe(200);
  });

  it.each([
    { name: 'container unavailable', error: new GastownError('container_unavailable', 'asleep'), code: 'container_unavailable' },
    { name: 'container rejected', error: new GastownError('upstream_failed', '500 from container'), code: 'upstream_failed' },
    { name: 'unexpected throw', error: new Error('socket hang up'), code: 'upstream_failed' },
  ])('$name → typed $code, never a silent success', async ({ error, code }) => {
    const f = await setupTown();
    const fake = fakeContainer({ push: async () => Promise.reject(error) });
    const outcome = await withServices(f.town.id, fake.client, async (s) => {
      try {
        await s.agents.reissue(f.polecat.agent.id);
        return 'resolved';
      } catch (err) {
        return err instanceof GastownError ? err.code : 'untyped';
      }
    });
    expect(outcome).toBe(code);
    const events = (await call('GET', `/api/towns/${f.town.id}/events?limit=500`, { token: f.userToken })).body.events;
    expect(events.filter((e: { type: string }) => e.type === 'credential.reissued').map((e: { data: { outcome: string } }) => e.data.outcome)).toEqual([
      'push_failed',
    ]);
  });
});

describe('mayor message delivery with a container', () => {
  it('a running mayor gets the message with a fresh access grant (warm send)', async () => {
    const f = await setupTown();
    const fake = fakeContainer({ running: true, deliver: async () => 'delivered' });
    const res = await withServices(f.town.id, fake.client, (s) => s.mayor.post('hello mayor'));
    expect(res.delivery).toBe('delivered');
    expect(res.message.deliveredAt).not.toBeNull();
    const [, req] = fake.calls.find((c) => c.method === 'deliver')!.args as [string, { text: string; grant: { gen: number; accessToken: string } }];
    expect(req.text).toBe('hello mayor');
    expect(req.grant.gen).toBe(1);
    expect(req.grant).not.toHaveProperty('jti');
  });

  it('a failing container: the message stays stored and the delivery says failed', async () => {
    const f = await setupTown();
    const fake = fakeContainer({ running: true, deliver: () => Promise.reject(new GastownError('container_unavailable', 'down')) });
    const res = await withServices(f.town.id, fake.client, (s) => s.mayor.post('hello?'));
    expect(res.delivery).toBe('failed');
    expect(res.message.deliveredAt).toBeNull();
  });
});
