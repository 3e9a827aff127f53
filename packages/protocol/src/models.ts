import { z } from 'zod';
import {
  MaxPolecatsSchema,
  RigInstructionsSchema,
  SETUP_TIMEOUT_SECONDS,
  SetupCommandSchema,
  SetupTimeoutSecondsSchema,
  TownInstructionsSchema,
} from './agent-settings';
import { MergeStrategySchema, RigAuthViewSchema, RigProviderViewSchema } from './rig-auth';
import { AgentRoleSchema, CredentialStatusSchema } from './claims';
import { BEAD_LIMITS, BeadDependsOnSchema, BeadLabelsSchema, BeadPrioritySchema } from './bead-fields';
import { IsolationLevelSchema } from './isolation';
import { ModelPricesSchema, ProviderConfigSchema, RigModelsSchema, SpendCapSchema, TownModelsSchema } from './model-config';
import {
  AgentIdSchema,
  BeadIdSchema,
  BranchNameSchema,
  EnvVarNameSchema,
  GitUrlSchema,
  LIMITS,
  NameSchema,
  RigIdSchema,
  TownIdSchema,
  UserIdSchema,
} from './common';

export const RuntimeKindSchema = z.enum(['opencode', 'kilo']);
export type RuntimeKind = z.infer<typeof RuntimeKindSchema>;

export const TownConfigSchema = z.object({
  provider: ProviderConfigSchema.nullable(),
  runtime: RuntimeKindSchema,
  /** Names of the town env vars; values are write-only and never returned. */
  envVarNames: z.array(EnvVarNameSchema).max(LIMITS.maxEnvVars),
  sleepAfterSeconds: z.number().int(),
  agentTokenTtlSeconds: z.number().int(),
  /** The model of each role (null until a model is configured). */
  models: TownModelsSchema.nullable().default(null),
  /** The town's price overrides (model id → USD per million tokens); defaults in model-prices.ts. */
  prices: ModelPricesSchema.default({}),
  spendCap: SpendCapSchema.nullable().default(null),
  /** Polecats running at once in this town (null: the deployment's GASTOWN_MAX_POLECATS). */
  maxPolecats: MaxPolecatsSchema.nullable().default(null),
  /** Custom instructions per role, appended to the role's briefing (a rig may replace polecat/refinery). */
  instructions: TownInstructionsSchema.default({ mayor: null, polecat: null, refinery: null }),
});
export type TownConfig = z.infer<typeof TownConfigSchema>;

export const TownSchema = z.object({
  id: TownIdSchema,
  name: NameSchema,
  ownerId: UserIdSchema,
  createdAt: z.number().int(),
  config: TownConfigSchema,
});
export type Town = z.infer<typeof TownSchema>;

export const RigSchema = z.object({
  id: RigIdSchema,
  townId: TownIdSchema,
  name: NameSchema,
  gitUrl: GitUrlSchema,
  defaultBranch: BranchNameSchema,
  createdAt: z.number().int(),
  /** How the container authenticates to the remote (./rig-auth.ts); never a secret. */
  auth: RigAuthViewSchema.default({ kind: 'none', appId: null, installationId: null, fingerprint: null }),
  /** How approved work lands: merged into the default branch, or as a pull request a human merges. */
  mergeStrategy: MergeStrategySchema.default('direct'),
  provider: RigProviderViewSchema.default({ kind: null, apiBaseUrl: null, repository: null, webhookSecretSet: false }),
  /** The rig's own polecat/refinery models (null: the town's). */
  models: RigModelsSchema.default({ polecat: null, refinery: null }),
  /** Polecats of this rig running at once (null: only the town's limit). */
  maxPolecats: MaxPolecatsSchema.nullable().default(null),
  /** Run in each polecat's worktree before its agent starts (./agent-settings.ts); null: none. */
  setupCommand: SetupCommandSchema.nullable().default(null),
  setupTimeoutSeconds: SetupTimeoutSecondsSchema.default(SETUP_TIMEOUT_SECONDS.default),
  /** The rig's own polecat/refinery instructions (null: the town's). */
  instructions: RigInstructionsSchema.default({ polecat: null, refinery: null }),
});
export type Rig = z.infer<typeof RigSchema>;

/** Control-plane view of an agent's life. */
export const AgentStatusSchema = z.enum(['idle', 'starting', 'working', 'waiting', 'exited', 'stopped', 'failed']);
export type AgentStatus = z.infer<typeof AgentStatusSchema>;

/** What the control plane knows about an agent's credentials, without any secret. */
export const CredentialHealthSchema = z.object({
  gen: z.number().int().nonnegative(),
  tokenIssuedAt: z.number().int().nullable(),
  tokenExpiresAt: z.number().int().nullable(),
  lastRefreshAt: z.number().int().nullable(),
  refreshCount: z.number().int().nonnegative(),
  /** Last status reported by the container's broker, if any. */
  reported: CredentialStatusSchema.nullable(),
  reportedAt: z.number().int().nullable(),
  state: z.enum(['none', 'healthy', 'expiring', 'expired', 'degraded', 'revoked']),
});
export type CredentialHealth = z.infer<typeof CredentialHealthSchema>;

/** Why a snapshot was taken. */
export const SessionSaveReasonSchema = z.enum(['message', 'waiting', 'drain', 'stop']);
export type SessionSaveReason = z.infer<typeof SessionSaveReasonSchema>;

/** What users see of it of an agent's stored session (agent views, `gastown status`, the dashboard). */
export const SessionSnapshotSummarySchema = z.object({
  savedAt: z.number().int(),
  storedAt: z.number().int(),
  bytes: z.number().int().nonnegative(),
  rawBytes: z.number().int().nonnegative(),
  turns: z.number().int().nonnegative(),
  droppedTurns: z.number().int().nonnegative(),
  reason: SessionSaveReasonSchema,
});
export type SessionSnapshotSummary = z.infer<typeof SessionSnapshotSummarySchema>;

export const AgentSchema = z.object({
  id: AgentIdSchema,
  townId: TownIdSchema,
  rigId: RigIdSchema.nullable(),
  role: AgentRoleSchema,
  name: z.string(),
  status: AgentStatusSchema,
  beadId: BeadIdSchema.nullable(),
  statusLine: z.string().nullable(),
  lastHeartbeatAt: z.number().int().nullable(),
  containerInstanceId: z.string().nullable(),
  createdAt: z.number().int(),
  credential: CredentialHealthSchema,
  /** The sandbox level of the agent's run, as last reported by a heartbeat; null until then. */
  isolation: IsolationLevelSchema.nullable(),
  /** The agent's durable session (mayor): when it was last saved and its size; null when none is stored. */
  session: SessionSnapshotSummarySchema.nullable().default(null),
});
export type Agent = z.infer<typeof AgentSchema>;

export const BeadTypeSchema = z.enum(['issue', 'merge_request', 'message', 'escalation']);
export type BeadType = z.infer<typeof BeadTypeSchema>;
export const BeadStatusSchema = z.enum(['open', 'in_progress', 'in_review', 'closed', 'failed']);
export type BeadStatus = z.infer<typeof BeadStatusSchema>;

export const BeadSchema = z.object({
  id: BeadIdSchema,
  townId: TownIdSchema,
  rigId: RigIdSchema.nullable(),
  type: BeadTypeSchema,
  status: BeadStatusSchema,
  title: z.string(),
  body: z.string(),
  assigneeId: AgentIdSchema.nullable(),
  /** For merge requests: the source bead and branch. Free-form JSON otherwise. */
  metadata: z.record(z.string(), z.unknown()),
  attempts: z.number().int().nonnegative(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  /** 0 (most urgent) … 4 (backlog); defaults for an older server that does not send it. */
  priority: BeadPrioritySchema.default(BEAD_LIMITS.defaultPriority),
  labels: BeadLabelsSchema.default([]),
  /** Beads this one waits for: an open issue is dispatched only once all of them are closed. */
  dependsOn: BeadDependsOnSchema.default([]),
});
export type Bead = z.infer<typeof BeadSchema>;

export const MailSchema = z.object({
  id: z.string(),
  townId: TownIdSchema,
  fromAgentId: AgentIdSchema.nullable(),
  toAgentId: AgentIdSchema,
  subject: z.string(),
  body: z.string(),
  createdAt: z.number().int(),
  readAt: z.number().int().nullable(),
});
export type Mail = z.infer<typeof MailSchema>;

export const TownEventSchema = z.object({
  id: z.number().int(),
  townId: TownIdSchema,
  type: z.string(),
  agentId: AgentIdSchema.nullable(),
  beadId: BeadIdSchema.nullable(),
  data: z.record(z.string(), z.unknown()),
  at: z.number().int(),
});
export type TownEvent = z.infer<typeof TownEventSchema>;

export const MayorMessageSchema = z.object({
  id: z.string(),
  townId: TownIdSchema,
  text: z.string(),
  createdAt: z.number().int(),
  deliveredAt: z.number().int().nullable(),
});
export type MayorMessage = z.infer<typeof MayorMessageSchema>;

export const TownSnapshotSchema = z.object({
  town: TownSchema,
  rigs: z.array(RigSchema),
  agents: z.array(AgentSchema),
});
export type TownSnapshot = z.infer<typeof TownSnapshotSchema>;
