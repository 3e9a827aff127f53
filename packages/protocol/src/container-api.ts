import { z } from 'zod';
import { AgentSetupSchema } from './agent-settings';
import { GitTokenGrantSchema, MergeStrategySchema, RigAuthKindSchema } from './rig-auth';
import { AccessTokenGrantSchema, AgentCredentialsSchema, AgentRoleSchema, CredentialStatusSchema, REFRESH_CREDENTIAL_PREFIX } from './claims';
import { AgentIdSchema, BeadIdSchema, BranchNameSchema, GitUrlSchema, NameSchema, RigIdSchema, TextSchema, TownIdSchema, UserIdSchema } from './common';
import { CommitShaSchema, RuntimeStateSchema, ToolNameSchema } from './agent-api';
import { RuntimeKindSchema } from './models';
import { ModelIdSchema, ProviderConfigSchema } from './model-config';

/** Header carrying the shared secret between the control plane and a town container. */
export const CONTAINER_KEY_HEADER = 'x-gastown-container-key';

/** Route table of the container control API (worker → container). */
export const CONTAINER_API = {
  health: '/health',
  agents: '/agents',
  agent: '/agents/:agentId',
  messages: '/agents/:agentId/messages',
  credentials: '/agents/:agentId/credentials',
  stop: '/agents/:agentId/stop',
  nudge: '/agents/:agentId/nudge',
  merge: '/git/merge',
  /** POST: remove a deleted rig's mirror and its agents' repositories (deletion-api.ts RemoveRigWorkspacesRequest). */
  removeRig: '/rigs/:rigId/remove',
} as const;

/** Route table of the local broker API (agent process → broker on loopback, Bearer per-agent broker key). */
export const BROKER_API = {
  tool: '/broker/tools/:tool',
  llm: '/broker/llm/v1',
} as const;
export { ToolNameSchema as BrokerToolNameSchema };

export const RigRefSchema = z
  .object({
    id: RigIdSchema,
    name: NameSchema,
    gitUrl: GitUrlSchema,
    defaultBranch: BranchNameSchema,
    /** Not `none`: the container's git runner authenticates through its git credential broker (never the agents). */
    auth: RigAuthKindSchema.default('none'),
  })
  .strict();
export type RigRef = z.infer<typeof RigRefSchema>;

export const BeadRefSchema = z.object({ id: BeadIdSchema, title: z.string(), body: z.string() }).strict();
export type BeadRef = z.infer<typeof BeadRefSchema>;

export const AgentIdentitySchema = z
  .object({
    id: AgentIdSchema,
    townId: TownIdSchema,
    rigId: RigIdSchema.nullable(),
    userId: UserIdSchema,
    role: AgentRoleSchema,
    name: z.string().min(1).max(100),
    gen: z.number().int().positive(),
  })
  .strict();
export type AgentIdentity = z.infer<typeof AgentIdentitySchema>;

export const RuntimeConfigSchema = z
  .object({
    kind: RuntimeKindSchema,
    provider: ProviderConfigSchema,
    /** The agent's model (its role's, its rig's, or its bead's); absent from an older control plane: `provider.model`. */
    model: ModelIdSchema.optional(),
    /** Titles and summaries; absent: `model`. The model proxy accepts only `model` and `smallModel` from this agent. */
    smallModel: ModelIdSchema.optional(),
    /** Seconds of `session.idle` after which a polecat/refinery exits; ignored for the mayor. */
    idleTimeoutSeconds: z.number().int().positive().nullable().default(null),
  })
  .strict();
export type RuntimeConfig = z.input<typeof RuntimeConfigSchema>;

export const StartAgentRequestSchema = z
  .object({
    agent: AgentIdentitySchema,
    controlPlaneUrl: z.string().url(),
    credentials: AgentCredentialsSchema,
    runtime: RuntimeConfigSchema,
    rig: RigRefSchema.nullable(),
    bead: BeadRefSchema.nullable(),
    /** Extra system instructions for the agent (role briefing). Never holds a secret. */
    instructions: TextSchema.default(''),
    /** First user message; null starts the runtime and waits. */
    prompt: TextSchema.nullable(),
    /** The rig's git token (private rigs), for the container's git credential broker only: never given to the agent. */
    gitToken: GitTokenGrantSchema.nullable().default(null),
    /** A polecat's rig setup command, run in its worktree before the agent starts (./agent-settings.ts). */
    setup: AgentSetupSchema.nullable().default(null),
  })
  .strict();
export type StartAgentRequest = z.input<typeof StartAgentRequestSchema>;

export const DeliverMessageRequestSchema = z
  .object({
    text: TextSchema.min(1),
    /** Warm send: a fresh access token swapped in before the prompt reaches the agent. */
    grant: AccessTokenGrantSchema.nullable().default(null),
  })
  .strict();
export type DeliverMessageRequest = z.input<typeof DeliverMessageRequestSchema>;

/** Push: a fresh access token, and optionally a new refresh credential (reissue). */
export const PushCredentialsRequestSchema = z
  .object({
    grant: AccessTokenGrantSchema,
    refresh: z
      .object({
        refreshCredential: z.string().startsWith(REFRESH_CREDENTIAL_PREFIX).min(20).max(200),
        refreshCredentialExpiresAt: z.number().int(),
      })
      .strict()
      .nullable()
      .default(null),
  })
  .strict();
export type PushCredentialsRequest = z.input<typeof PushCredentialsRequestSchema>;

export const StopAgentRequestSchema = z
  .object({
    reason: z.string().max(500).default('stopped'),
    /**
     * Let the model call in flight finish, then stop (spend cap): the agent's next model request is
     * refused and the run ends with outcome `stopped`; an agent already idle stops at once.
     */
    afterTurn: z.boolean().default(false),
  })
  .strict();

export const AgentRuntimeStatusSchema = z.object({
  agentId: AgentIdSchema,
  role: AgentRoleSchema,
  gen: z.number().int(),
  runtimeState: RuntimeStateSchema,
  activity: z.enum(['working', 'waiting']),
  pid: z.number().int().nullable(),
  sessionId: z.string().nullable(),
  startedAt: z.number().int(),
  credential: CredentialStatusSchema,
  lastError: z.string().nullable(),
});
export type AgentRuntimeStatus = z.infer<typeof AgentRuntimeStatusSchema>;
export const AgentRuntimeListSchema = z.object({ agents: z.array(AgentRuntimeStatusSchema) });

export const ContainerHealthSchema = z.object({
  ok: z.literal(true),
  instanceId: z.string(),
  startedAt: z.number().int(),
  agents: z.number().int(),
});
export type ContainerHealth = z.infer<typeof ContainerHealthSchema>;

export const MergeRequestSchema = z
  .object({
    /** The refinery whose credentials carry the merge callback. */
    agentId: AgentIdSchema,
    rig: RigRefSchema,
    mergeRequestBeadId: BeadIdSchema,
    branch: BranchNameSchema,
    /**
     * The commit the refinery reviewed and approved. The container merges exactly this commit, and
     * only while it is still the branch's tip as the container copied it from the polecat; otherwise
     * the merge callback reports `changed_since_review`.
     */
    commit: CommitShaSchema,
    message: z.string().min(1).max(2000),
    /** `pull_request`: push the approved commit to the branch on the rig and report `pushed`; the control plane opens the pull request. */
    strategy: MergeStrategySchema.default('direct'),
  })
  .strict();
export type MergeRequest = z.infer<typeof MergeRequestSchema>;
export const MergeAcceptedSchema = z.object({ accepted: z.literal(true) });
