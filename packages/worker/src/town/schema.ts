/**
 * The TownDO's numbered schema migrations, the one schema mechanism of its database. Append only:
 * never edit a released migration, add a new one.
 */
import type { SchemaMigration } from '../storage/migrate';

export const TOWN_MIGRATIONS: readonly SchemaMigration[] = [
  {
    version: 1,
    name: 'initial',
    statements: [
      `CREATE TABLE town (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        config TEXT NOT NULL
      )`,
      `CREATE TABLE town_env_vars (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      `CREATE TABLE rigs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        git_url TEXT NOT NULL,
        default_branch TEXT NOT NULL,
        created_at INTEGER NOT NULL
      )`,
      `CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        rig_id TEXT,
        role TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        bead_id TEXT,
        status_line TEXT,
        gen INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_heartbeat_at INTEGER,
        container_instance_id TEXT,
        runtime_state TEXT,
        session_id TEXT,
        token_jti TEXT,
        token_issued_at INTEGER,
        token_expires_at INTEGER,
        last_refresh_at INTEGER,
        refresh_count INTEGER NOT NULL DEFAULT 0,
        credential_reported TEXT,
        credential_reported_at INTEGER
      )`,
      `CREATE UNIQUE INDEX agents_one_mayor ON agents(role) WHERE role = 'mayor'`,
      `CREATE TABLE beads (
        id TEXT PRIMARY KEY,
        rig_id TEXT,
        type TEXT NOT NULL,
        status TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        assignee_id TEXT,
        metadata TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      `CREATE INDEX beads_by_status ON beads(status, created_at)`,
      `CREATE TABLE mail (
        id TEXT PRIMARY KEY,
        from_agent_id TEXT,
        to_agent_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        read_at INTEGER
      )`,
      `CREATE INDEX mail_by_recipient ON mail(to_agent_id, read_at)`,
      `CREATE TABLE agent_events (
        agent_id TEXT NOT NULL,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        at INTEGER NOT NULL,
        data TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (agent_id, id)
      )`,
      `CREATE TABLE town_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        agent_id TEXT,
        bead_id TEXT,
        data TEXT NOT NULL,
        at INTEGER NOT NULL
      )`,
      `CREATE TABLE mayor_messages (
        id TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER
      )`,
    ],
  },
  {
    version: 2,
    name: 'dispatch and reconciler',
    statements: [
      // when the current generation was dispatched (liveness before the first heartbeat)
      `ALTER TABLE agents ADD COLUMN dispatched_at INTEGER`,
      // small per-town facts: the control-plane URL containers call back to, …
      `CREATE TABLE town_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      )`,
      // container instances seen in heartbeats; the one first seen last is the live one
      `CREATE TABLE container_instances (
        instance_id TEXT PRIMARY KEY,
        first_seen_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      )`,
    ],
  },
  {
    version: 3,
    name: 'credential tables',
    // Until this step the auth module created these tables itself, outside the numbered steps, with
    // CREATE … IF NOT EXISTS on every start: a database from then is at version 2 and already has
    // them (with these very columns), so every statement here must be a no-op against it. From
    // now on they change only through new numbered steps.
    statements: [
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
    ],
  },
  {
    version: 4,
    name: 'agent isolation',
    statements: [
      // the sandbox level of the agent's run, as last reported by a heartbeat (null until then)
      `ALTER TABLE agents ADD COLUMN isolation TEXT`,
    ],
  },
  {
    version: 5,
    name: 'agent sessions',
    statements: [
      // the stored session snapshot of an agent (the mayor's conversation): one per agent, its
      // content in R2 (binding SESSIONS) at object_key; the other columns are its SessionSnapshotRecord
      `CREATE TABLE agent_sessions (
        agent_id TEXT PRIMARY KEY,
        object_key TEXT NOT NULL,
        format TEXT NOT NULL,
        runtime TEXT NOT NULL,
        session_id TEXT NOT NULL,
        saved_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        turns INTEGER NOT NULL,
        messages INTEGER NOT NULL,
        raw_bytes INTEGER NOT NULL,
        dropped_turns INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        stored_at INTEGER NOT NULL
      )`,
    ],
  },
  {
    version: 6,
    name: 'private rigs and pull requests',
    statements: [
      // how a rig authenticates to its git host and how approved work lands (never a secret here)
      `ALTER TABLE rigs ADD COLUMN auth_kind TEXT NOT NULL DEFAULT 'none'`,
      `ALTER TABLE rigs ADD COLUMN app_id TEXT`,
      `ALTER TABLE rigs ADD COLUMN installation_id TEXT`,
      // sha256:<8 hex> of the secret, so a user can tell which one is set
      `ALTER TABLE rigs ADD COLUMN auth_fingerprint TEXT`,
      `ALTER TABLE rigs ADD COLUMN merge_strategy TEXT NOT NULL DEFAULT 'direct'`,
      `ALTER TABLE rigs ADD COLUMN provider_kind TEXT`,
      `ALTER TABLE rigs ADD COLUMN api_base_url TEXT`,
      `ALTER TABLE rigs ADD COLUMN repository TEXT`,
      // write-only secrets of a rig (an app's private key or a token; the webhook secret): handed to
      // the git host client only, never read into a view, an event or a log (like town_env_vars)
      `CREATE TABLE rig_secrets (
        rig_id TEXT PRIMARY KEY,
        secret TEXT,
        webhook_secret TEXT,
        updated_at INTEGER NOT NULL
      )`,
      // provider webhook deliveries already applied (a redelivery changes nothing twice); pruned by age
      `CREATE TABLE webhook_deliveries (
        delivery_id TEXT PRIMARY KEY,
        rig_id TEXT NOT NULL,
        event TEXT NOT NULL,
        received_at INTEGER NOT NULL
      )`,
      `CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (received_at)`,
    ],
  },
  {
    version: 7,
    name: 'model usage',
    statements: [
      // one row per model call the container's proxy measured (a `model.usage` agent event): its id is
      // the event's, so a retried batch counts once. Agent, role, rig and bead are the agent record's
      // at the time; `at` is the container's clock, `received_at` the control plane's (spend periods).
      // cost_micros: micro-dollars at the town's prices then; null when the model has no price.
      `CREATE TABLE model_usage (
        id TEXT PRIMARY KEY,
        at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        agent_id TEXT NOT NULL,
        role TEXT NOT NULL,
        rig_id TEXT,
        bead_id TEXT,
        model TEXT NOT NULL,
        provider_kind TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_tokens INTEGER NOT NULL,
        latency_ms INTEGER NOT NULL,
        streamed INTEGER NOT NULL,
        status INTEGER NOT NULL,
        error_code TEXT,
        cost_micros INTEGER
      )`,
      `CREATE INDEX model_usage_by_at ON model_usage (at)`,
      // the spend of the current period: one SUM over this index alone (it covers cost_micros)
      `CREATE INDEX model_usage_by_received ON model_usage (received_at, cost_micros)`,
      `CREATE INDEX model_usage_by_bead ON model_usage (bead_id, at)`,
      `CREATE INDEX model_usage_by_agent ON model_usage (agent_id, at)`,
    ],
  },
  // issue 14: rig models
  {
    version: 8,
    name: 'rig models',
    statements: [
      // the rig's own polecat/refinery model (null: the town's; model-rules.ts modelForAgent)
      `ALTER TABLE rigs ADD COLUMN polecat_model TEXT`,
      `ALTER TABLE rigs ADD COLUMN refinery_model TEXT`,
    ],
  },
  // issue 17: the alarm tick reads only the agents it can act on (AgentRepository.listForReconcile)
  {
    version: 9,
    name: 'reconciler indexes',
    statements: [
      `CREATE INDEX agents_by_status ON agents (status)`,
      `CREATE INDEX agents_by_role ON agents (role, status)`,
      // agentsWithLiveFamilies(): the unrevoked families alone, not every family ever issued
      `CREATE INDEX credential_families_live ON credential_families (agent_id) WHERE revoked_at IS NULL`,
    ],
  },
  // issue 16: beads a user manages (priority, labels, dependencies)
  {
    version: 10,
    name: 'bead priority, labels and dependencies',
    statements: [
      // 0 (most urgent) … 4 (backlog): open issues are dispatched in priority order, then oldest first
      `ALTER TABLE beads ADD COLUMN priority INTEGER NOT NULL DEFAULT 2`,
      // JSON arrays of strings: the bead's labels (a set) and the bead ids it waits for (no cycle)
      `ALTER TABLE beads ADD COLUMN labels TEXT NOT NULL DEFAULT '[]'`,
      `ALTER TABLE beads ADD COLUMN depends_on TEXT NOT NULL DEFAULT '[]'`,
      // the list filters by rig and by assignee
      `CREATE INDEX beads_by_rig ON beads (rig_id, created_at)`,
      `CREATE INDEX beads_by_assignee ON beads (assignee_id) WHERE assignee_id IS NOT NULL`,
    ],
  },
  // issue 16: convoys (a named group of issue beads with one goal; lands when every bead is closed)
  {
    version: 11,
    name: 'convoys',
    statements: [
      `CREATE TABLE convoys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        goal TEXT NOT NULL,
        status TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        landed_at INTEGER
      )`,
      // membership in the order beads were added; a deleted bead simply no longer joins beads
      `CREATE TABLE convoy_beads (
        convoy_id TEXT NOT NULL,
        bead_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (convoy_id, bead_id)
      )`,
      `CREATE INDEX convoy_beads_by_bead ON convoy_beads (bead_id)`,
      `CREATE INDEX convoys_by_status ON convoys (status, created_at)`,
    ],
  },
  // issue 16 point 5: per-rig settings (agent-settings-rules.ts)
  {
    version: 13,
    name: 'rig settings',
    statements: [
      // polecats of the rig running at once (null: only the town's limit)
      `ALTER TABLE rigs ADD COLUMN max_polecats INTEGER`,
      // run in each polecat's worktree before its agent starts (null: none), within the timeout
      `ALTER TABLE rigs ADD COLUMN setup_command TEXT`,
      `ALTER TABLE rigs ADD COLUMN setup_timeout_seconds INTEGER`,
      // the rig's own polecat/refinery instructions (null: the town's)
      `ALTER TABLE rigs ADD COLUMN polecat_instructions TEXT`,
      `ALTER TABLE rigs ADD COLUMN refinery_instructions TEXT`,
    ],
  },
];
