import { SETUP_TIMEOUT_SECONDS, type GitProviderKind, type MergeStrategy, type Rig, type RigAuthKind } from '@gastown/protocol';
import type { Sql } from '../../storage/sql';

type RigRow = {
  id: string;
  name: string;
  git_url: string;
  default_branch: string;
  created_at: number;
  auth_kind: string;
  app_id: string | null;
  installation_id: string | null;
  auth_fingerprint: string | null;
  merge_strategy: string;
  provider_kind: string | null;
  api_base_url: string | null;
  repository: string | null;
  polecat_model: string | null;
  refinery_model: string | null;
  max_polecats: number | null;
  setup_command: string | null;
  setup_timeout_seconds: number | null;
  polecat_instructions: string | null;
  refinery_instructions: string | null;
  /** Whether rig_secrets holds a webhook secret (the secret itself is never selected here). */
  webhook_secret_set: number | null;
};

/** A rig's write-only secrets (rig_secrets): handed to its git host client only, never to a view, an event or a log. */
export interface RigSecrets {
  /** The app's private key PEM (github_app) or the access token (token). */
  secret: string | null;
  webhookSecret: string | null;
}

export class RigRepository {
  constructor(
    private readonly sql: Sql,
    private readonly townId: string,
  ) {}

  list(): Rig[] {
    return this.sql.all<RigRow>`SELECT r.*, (SELECT s.webhook_secret IS NOT NULL FROM rig_secrets s WHERE s.rig_id = r.id) AS webhook_secret_set
                                FROM rigs r ORDER BY r.created_at, r.id`.map((r) => this.toRig(r));
  }

  get(id: string): Rig | null {
    const row = this.sql.one<RigRow>`SELECT r.*, (SELECT s.webhook_secret IS NOT NULL FROM rig_secrets s WHERE s.rig_id = r.id) AS webhook_secret_set
                                     FROM rigs r WHERE r.id = ${id}`;
    return row ? this.toRig(row) : null;
  }

  getByName(name: string): Rig | null {
    const row = this.sql.one<{ id: string }>`SELECT id FROM rigs WHERE name = ${name}`;
    return row ? this.get(row.id) : null;
  }

  insert(rig: Rig): void {
    this.sql.run`INSERT INTO rigs (id, name, git_url, default_branch, created_at, auth_kind, app_id, installation_id, auth_fingerprint,
                                   merge_strategy, provider_kind, api_base_url, repository, polecat_model, refinery_model,
                                   max_polecats, setup_command, setup_timeout_seconds, polecat_instructions, refinery_instructions)
                 VALUES (${rig.id}, ${rig.name}, ${rig.gitUrl}, ${rig.defaultBranch}, ${rig.createdAt}, ${rig.auth.kind}, ${rig.auth.appId},
                         ${rig.auth.installationId}, ${rig.auth.fingerprint}, ${rig.mergeStrategy}, ${rig.provider.kind},
                         ${rig.provider.apiBaseUrl}, ${rig.provider.repository}, ${rig.models.polecat}, ${rig.models.refinery},
                         ${rig.maxPolecats}, ${rig.setupCommand}, ${rig.setupTimeoutSeconds}, ${rig.instructions.polecat}, ${rig.instructions.refinery})`;
  }

  /** The rig's auth, merge strategy, provider, models and settings (name, URL and branch never change). */
  update(rig: Rig): void {
    this.sql.run`UPDATE rigs SET auth_kind = ${rig.auth.kind}, app_id = ${rig.auth.appId}, installation_id = ${rig.auth.installationId},
                   auth_fingerprint = ${rig.auth.fingerprint}, merge_strategy = ${rig.mergeStrategy}, provider_kind = ${rig.provider.kind},
                   api_base_url = ${rig.provider.apiBaseUrl}, repository = ${rig.provider.repository},
                   polecat_model = ${rig.models.polecat}, refinery_model = ${rig.models.refinery},
                   max_polecats = ${rig.maxPolecats}, setup_command = ${rig.setupCommand}, setup_timeout_seconds = ${rig.setupTimeoutSeconds},
                   polecat_instructions = ${rig.instructions.polecat}, refinery_instructions = ${rig.instructions.refinery}
                 WHERE id = ${rig.id}`;
  }

  /** Store a rig's secrets; `undefined` keeps the current value, null clears it. */
  setSecrets(rigId: string, secrets: Partial<RigSecrets>, now: number): void {
    const current = this.secrets(rigId);
    const secret = secrets.secret === undefined ? current.secret : secrets.secret;
    const webhookSecret = secrets.webhookSecret === undefined ? current.webhookSecret : secrets.webhookSecret;
    this.sql.run`INSERT INTO rig_secrets (rig_id, secret, webhook_secret, updated_at) VALUES (${rigId}, ${secret}, ${webhookSecret}, ${now})
                 ON CONFLICT (rig_id) DO UPDATE SET secret = excluded.secret, webhook_secret = excluded.webhook_secret, updated_at = excluded.updated_at`;
  }

  /** For the git host client and the webhook check only. Never returned by the API. */
  secrets(rigId: string): RigSecrets {
    const row = this.sql.one<{ secret: string | null; webhook_secret: string | null }>`SELECT secret, webhook_secret FROM rig_secrets WHERE rig_id = ${rigId}`;
    return { secret: row?.secret ?? null, webhookSecret: row?.webhook_secret ?? null };
  }

  private toRig(row: RigRow): Rig {
    return {
      id: row.id,
      townId: this.townId,
      name: row.name,
      gitUrl: row.git_url,
      defaultBranch: row.default_branch,
      createdAt: row.created_at,
      auth: {
        kind: row.auth_kind as RigAuthKind,
        appId: row.app_id,
        installationId: row.installation_id,
        fingerprint: row.auth_fingerprint,
      },
      mergeStrategy: row.merge_strategy as MergeStrategy,
      provider: {
        kind: row.provider_kind as GitProviderKind | null,
        apiBaseUrl: row.api_base_url,
        repository: row.repository,
        webhookSecretSet: Boolean(row.webhook_secret_set),
      },
      models: { polecat: row.polecat_model ?? null, refinery: row.refinery_model ?? null },
      maxPolecats: row.max_polecats ?? null,
      setupCommand: row.setup_command ?? null,
      setupTimeoutSeconds: row.setup_timeout_seconds ?? SETUP_TIMEOUT_SECONDS.default,
      instructions: { polecat: row.polecat_instructions ?? null, refinery: row.refinery_instructions ?? null },
    };
  }
}
