/**
 * Databases created before the credential tables joined the numbered migrations: the auth module
 * created them itself on every start (CREATE … IF NOT EXISTS, outside schema_version), so such a
 * database is at schema version 2 and already has them. The TownDO must migrate it to the current
 * version without touching those tables, and the credentials in it must keep working.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { AgentCredentialsSchema, systemClock, type AgentCredentials } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { createCredentialService, cryptoRandomBytes, loadAuthConfig, verifyAgentAccessToken } from '../../src/auth';
import { runMigrations } from '../../src/storage/migrate';
import { Sql } from '../../src/storage/sql';
import { AgentRepository } from '../../src/town/repositories/agent-repository';
import { TownRepository } from '../../src/town/repositories/town-repository';
import { unwrap } from '../../src/town/rpc-result';
import { TOWN_MIGRATIONS } from '../../src/town/schema';
import { defaultTownConfig } from '../../src/town/services/town-service';
import { TownDO } from '../../src/town/town-do';

/** Verbatim: the DDL CredentialService.migrate() ran on every TownDO start before schema version 3. */
const LEGACY_CREDENTIAL_DDL = [
  `CREATE TABLE IF NOT EXISTS credential_families (
     id TEXT PRIMARY KEY,
     agent_id TEXT NOT NULL,
     gen INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     revoked_at INTEGER,
     revoked_reason TEXT
   )`,
  `CREATE INDEX IF NOT EXISTS credential_families_agent ON credential_families (agent_id)`,
  `CREATE TABLE IF NOT EXISTS refresh_credentials (
     hash TEXT PRIMARY KEY,
     family_id TEXT NOT NULL,
     agent_id TEXT NOT NULL,
     issued_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     used_at INTEGER,
     successor_kid TEXT,
     successor_jti TEXT,
     successor_iat INTEGER,
     successor_exp INTEGER
   )`,
  `CREATE INDEX IF NOT EXISTS refresh_credentials_family ON refresh_credentials (family_id)`,
  `CREATE INDEX IF NOT EXISTS refresh_credentials_agent_expiry ON refresh_credentials (agent_id, expires_at)`,
];

const CREDENTIAL_OBJECTS = [
  'credential_families',
  'credential_families_agent',
  'refresh_credentials',
  'refresh_credentials_agent_expiry',
  'refresh_credentials_family',
];

function credentialSchema(sql: Sql): { name: string; sql: string }[] {
  return sql.all<{
    name: string;
    sql: string;
  }>`SELECT name, sql FROM sqlite_master WHERE tbl_name IN ('credential_families', 'refresh_credentials') ORDER BY name`.filter((row) =>
    CREDENTIAL_OBJECTS.includes(row.name),
  );
}

function schemaVersion(sql: Sql): number {
  return Number(sql.one<{ version: number }>`SELECT version FROM schema_version WHERE id = 1`?.version);
}

describe('credential tables created the old way', () => {
  it('migrate to the current version untouched, and the credentials in them still refresh', async () => {
    const townId = `town_legacy${Math.floor(Math.random() * 1e9)}`;
    const stub = env.TOWN.get(env.TOWN.idFromName(townId));
    await runInDurableObject(stub, async (_instance, state) => {
      const sql = new Sql(state.storage.sql);
      const tx = <T>(f: () => T) => state.storage.transactionSync(f);

      // an empty database (this object already migrated its own on start) …
      const ours = sql.all<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'`;
      for (const { name } of ours) sql.ddl(`DROP TABLE "${name}"`);
      // … built as a TownDO of the old code built it: numbered steps 1–2, then the auth module's own DDL (every start)
      expect(
        runMigrations(
          sql,
          tx,
          TOWN_MIGRATIONS.filter((m) => m.version <= 2),
        ),
      ).toBe(2);
      for (let start = 0; start < 2; start += 1) for (const statement of LEGACY_CREDENTIAL_DDL) sql.ddl(statement);
      const legacySchema = credentialSchema(sql);
      expect(legacySchema.map((o) => o.name)).toEqual(CREDENTIAL_OBJECTS);

      // with a town, a dispatched polecat and the credentials it was issued
      const auth = loadAuthConfig(env as unknown as Record<string, unknown>);
      const now = systemClock.now();
      new TownRepository(sql).insert({ id: townId, name: 'legacy', ownerId: 'user-legacy', createdAt: now, config: defaultTownConfig(auth.policy) });
      const agents = new AgentRepository(sql);
      agents.insert({ id: 'ag_legacy0001', rigId: null, role: 'mayor', name: 'mayor', status: 'working', beadId: null, createdAt: now });
      const gen = agents.bumpGen('ag_legacy0001', now);
      const service = createCredentialService({ sql, config: auth, clock: systemClock, randomBytes: cryptoRandomBytes, recordEvent: () => {} });
      const subject = { id: 'ag_legacy0001', townId, rigId: null, userId: 'user-legacy', role: 'mayor' as const, gen };
      const issued: AgentCredentials = (await service.issue(subject, 3600)).credentials;
      const familyRows = sql.all`SELECT * FROM credential_families`;

      // the TownDO of today starts on it
      const town = new TownDO(state, env);
      await state.blockConcurrencyWhile(async () => {}); // queued behind the constructor's start-up step: that one is done
      expect(schemaVersion(sql)).toBe(Math.max(...TOWN_MIGRATIONS.map((m) => m.version)));
      expect(credentialSchema(sql)).toEqual(legacySchema);
      expect(sql.all`SELECT * FROM credential_families`).toEqual(familyRows);
      expect(runMigrations(sql, tx, TOWN_MIGRATIONS)).toBe(schemaVersion(sql)); // and again: nothing to do

      // the refresh credential issued before the migration rotates through the TownDO's refresh
      const next = AgentCredentialsSchema.parse(unwrap(await town.refreshCredentials(issued.refreshCredential)));
      expect(next.refreshCredential).not.toBe(issued.refreshCredential);
      expect(next.gen).toBe(gen);
      await expect(verifyAgentAccessToken(auth, next.accessToken, { now: systemClock.now() })).resolves.toMatchObject({ sub: 'ag_legacy0001', gen });
      expect(agents.get('ag_legacy0001')?.refreshCount).toBe(1);
      expect(sql.all`SELECT hash FROM refresh_credentials WHERE used_at IS NOT NULL`).toHaveLength(1);
    });
  });
});
