import { GastownError, systemClock } from '@gastown/protocol';
import { DurableObject } from 'cloudflare:workers';
import { runMigrations, type SchemaMigration } from '../storage/migrate';
import { Sql } from '../storage/sql';
import { toRpcResult, type RpcResult } from '../town/rpc-result';
import { RegistryRepository, type TownEntry } from './registry-repository';

const REGISTRY_MIGRATIONS: readonly SchemaMigration[] = [
  {
    version: 1,
    name: 'initial',
    statements: [`CREATE TABLE towns (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL)`],
  },
];

/** One per user (`idFromName(userId)`): the towns a user owns, so they can be listed. Town names are unique per user. */
export class RegistryDO extends DurableObject<Env> {
  private readonly repo: RegistryRepository;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = new Sql(ctx.storage.sql);
    this.repo = new RegistryRepository(sql);
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
}
