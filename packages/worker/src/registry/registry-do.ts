import { GastownError, systemClock } from '@gastown/protocol';
import { DurableObject } from 'cloudflare:workers';
import { runMigrations, type SchemaMigration } from '../storage/migrate';
import { Sql } from '../storage/sql';
import { toRpcResult, type RpcResult } from '../town/rpc-result';
import { RegistryRepository, type TownEntry } from './registry-repository';
import { StreamLeaseRepository } from './stream-lease-repository';

const REGISTRY_MIGRATIONS: readonly SchemaMigration[] = [
  {
    version: 1,
    name: 'initial',
    statements: [`CREATE TABLE towns (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL)`],
  },
  {
    version: 2,
    name: 'event stream leases',
    statements: [`CREATE TABLE stream_leases (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)`],
  },
];

/**
 * One per user (`idFromName(userId)`): the towns a user owns, so they can be listed (town names
 * are unique per user), and the user's open event streams, so they can be capped (streams of
 * every town of the user, served by any worker isolate, meet here).
 */
export class RegistryDO extends DurableObject<Env> {
  private readonly repo: RegistryRepository;
  private readonly leases: StreamLeaseRepository;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = new Sql(ctx.storage.sql);
    this.repo = new RegistryRepository(sql);
    this.leases = new StreamLeaseRepository(sql);
    void ctx.blockConcurrencyWhile(async () => {
      runMigrations(sql, (fn) => ctx.storage.transactionSync(fn), REGISTRY_MIGRATIONS);
    });
  }

  /** Reserve a town name for this user; conflict when the name is taken. */
  addTown(id: string, name: string): Promise<RpcResult<TownEntry>> {
    return toRpcResult(console, 'addTown', () => {
      if (this.repo.getByName(name)) throw new GastownError('conflict', `you already have a town named ${name}`);
      const entry = { id, name, createdAt: systemClock.now() };
      this.repo.insert(entry);
      return entry;
    });
  }

  removeTown(id: string): Promise<RpcResult<true>> {
    return toRpcResult(console, 'removeTown', () => {
      this.repo.delete(id);
      return true as const;
    });
  }

  listTowns(): Promise<RpcResult<TownEntry[]>> {
    return toRpcResult(console, 'listTowns', () => this.repo.list());
  }

  /**
   * Take a lease for one more event stream, valid for `ttlMs`: 429 `rate_limited` when the user
   * already holds `maxStreams` live ones. The stream renews it (renewEventStream) while it runs
   * and releases it (closeEventStream) when it ends; one that just stops lets it expire.
   */
  openEventStream(ttlMs: number, maxStreams: number): Promise<RpcResult<{ leaseId: string; active: number }>> {
    return toRpcResult(console, 'openEventStream', () => {
      const now = systemClock.now();
      const active = this.leases.active(now);
      if (active >= maxStreams)
        throw new GastownError('rate_limited', `at most ${maxStreams} event streams may be open at once per user; close one or retry later`);
      const leaseId = crypto.randomUUID();
      this.leases.insert(leaseId, now + ttlMs);
      return { leaseId, active: active + 1 };
    });
  }

  /** Extend a live lease by `ttlMs` from now; false when it expired (the stream should end). */
  renewEventStream(leaseId: string, ttlMs: number): Promise<RpcResult<boolean>> {
    return toRpcResult(console, 'renewEventStream', () => {
      const now = systemClock.now();
      return this.leases.renew(leaseId, now, now + ttlMs);
    });
  }

  closeEventStream(leaseId: string): Promise<RpcResult<true>> {
    return toRpcResult(console, 'closeEventStream', () => {
      this.leases.delete(leaseId);
      return true as const;
    });
  }
}
