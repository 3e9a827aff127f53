import { TownConfigSchema, type Town, type TownConfig } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';
import { normaliseStoredModels } from '../model-rules';
import { parseJsonValue } from './json';

type TownRow = { id: string; name: string; owner_id: string; created_at: number; config: string };

/** The single `town` row of a TownDO and its write-only env vars. */
export class TownRepository {
  constructor(private readonly sql: Sql) {}

  get(): Town | null {
    const row = this.sql.one<TownRow>`SELECT * FROM town LIMIT 1`;
    if (!row) return null;
    return { id: row.id, name: row.name, ownerId: row.owner_id, createdAt: row.created_at, config: this.parseConfig(row.config) };
  }

  insert(town: Town): void {
    this.sql.run`INSERT INTO town (id, name, owner_id, created_at, config)
                 VALUES (${town.id}, ${town.name}, ${town.ownerId}, ${town.createdAt}, ${JSON.stringify(this.storedConfig(town.config))})`;
  }

  updateConfig(config: TownConfig): void {
    this.sql.run`UPDATE town SET config = ${JSON.stringify(this.storedConfig(config))}`;
  }

  envVarNames(): string[] {
    return this.sql.all<{ name: string }>`SELECT name FROM town_env_vars ORDER BY name`.map((r) => r.name);
  }

  /** One value (a provider key for the model list), for an outbound request only. Never returned by the API or logged. */
  envVar(name: string): string | null {
    return this.sql.one<{ value: string }>`SELECT value FROM town_env_vars WHERE name = ${name}`?.value ?? null;
  }

  /** Values, for handing to the container runtime only. Never returned by the API. */
  envVars(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const row of this.sql.all<{ name: string; value: string }>`SELECT name, value FROM town_env_vars`) out[row.name] = row.value;
    return out;
  }

  setEnvVar(name: string, value: string, now: number): void {
    this.sql.run`INSERT INTO town_env_vars (name, value, updated_at) VALUES (${name}, ${value}, ${now})
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`;
  }

  deleteEnvVar(name: string): void {
    this.sql.run`DELETE FROM town_env_vars WHERE name = ${name}`;
  }

  /** Env var names are derived from the env var table, not stored twice. */
  private storedConfig(config: TownConfig): Omit<TownConfig, 'envVarNames'> {
    const { envVarNames: _names, ...rest } = config;
    return rest;
  }

  /** A config stored before per-role models (provider.model, no models/prices/spendCap) reads with the schema's defaults and `models.default` = its model. */
  private parseConfig(text: string): TownConfig {
    const parsed = TownConfigSchema.omit({ envVarNames: true }).parse(parseJsonValue(text));
    return { ...parsed, ...normaliseStoredModels(parsed.provider, parsed.models), envVarNames: this.envVarNames() };
  }
}
