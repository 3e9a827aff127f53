import { z } from 'zod';
import { AgentRoleSchema, CredentialStatusSchema, type AgentRole } from './claims';
import { AgentIdSchema, BeadIdSchema, BranchNameSchema, LIMITS, RigIdSchema, TextSchema, TitleSchema } from './common';
import { BeadDependsOnSchema, BeadLabelsSchema, BeadPrioritySchema } from './bead-fields';
import {
  ConvoyDetailResponseSchema,
  ConvoySchema,
  ConvoyStatusArgsSchema,
  ListConvoysArgsSchema,
  SlingBatchArgsSchema,
  SlingBatchResultSchema,
} from './convoy-api';
import { IsolationLevelSchema } from './isolation';
import { AgentSchema, BeadSchema, BeadStatusSchema, MailSchema, RigSchema } from './models';
import { ModelIdSchema } from './model-config';
import { NudgeArgsSchema } from './nudge-api';

/** Route table of the agent API (Bearer agent access token; refresh takes a refresh credential). */
export const AGENT_API = {
  refresh: '/agent/towns/:townId/refresh',
  heartbeat: '/agent/towns/:townId/agents/:agentId/heartbeat',
  events: '/agent/towns/:townId/agents/:agentId/events',
  completion: '/agent/towns/:townId/agents/:agentId/completion',
  mergeResult: '/agent/towns/:townId/agents/:agentId/merge-result',
  tool: '/agent/towns/:townId/agents/:agentId/tools/:tool',
  /** GET / PUT the agent's durable session snapshot (mayor only; ./session-snapshot.ts). */
  session: '/agent/towns/:townId/agents/:agentId/session',
  /** POST: a fresh git token for the agent's rig (container git credential broker; ./rig-auth.ts). */
  gitToken: '/agent/towns/:townId/agents/:agentId/git-token',
} as const;

export { routePath } from './route-path';

// ---- tools --------------------------------------------------------------

export const SlingArgsSchema = z
  .object({
    rigId: RigIdSchema,
    title: TitleSchema,
    body: TextSchema.default(''),
    /** The model the bead's polecat runs with; must be one the town allows (403 model_not_allowed otherwise). */
    model: ModelIdSchema.optional(),
    /** 0 (most urgent) … 4 (backlog); default 2. */
    priority: BeadPrioritySchema.optional(),
    labels: BeadLabelsSchema.optional(),
    /** Beads of this town the new bead waits for: it is dispatched once all of them are closed. */
    dependsOn: BeadDependsOnSchema.optional(),
  })
  .strict();
/**
 * Mayor: change a bead it slung (another bead → 403 token_scope). What the call names changes;
 * `labels` and `dependsOn` replace the lists; a dependency cycle is refused (400 validation_failed).
 */
export const BeadUpdateArgsSchema = z
  .object({
    beadId: BeadIdSchema,
    title: TitleSchema.optional(),
    body: TextSchema.optional(),
    priority: BeadPrioritySchema.optional(),
    labels: BeadLabelsSchema.optional(),
    dependsOn: BeadDependsOnSchema.optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 1, 'nothing to change: name at least one of title, body, priority, labels, dependsOn');
export const ListRigsArgsSchema = z.object({}).strict();
export const ListBeadsArgsSchema = z.object({ status: BeadStatusSchema.optional(), rigId: RigIdSchema.optional() }).strict();
export const ListAgentsArgsSchema = z.object({}).strict();
export const MailSendArgsSchema = z.object({ to: z.union([AgentIdSchema, z.literal('mayor')]), subject: TitleSchema, body: TextSchema.default('') }).strict();
export const MailCheckArgsSchema = z.object({}).strict();
/** A full git commit id (SHA-1, 40 lower-case hex digits). */
export const CommitShaSchema = z.string().regex(/^[0-9a-f]{40}$/, 'must be a full commit id: 40 lower-case hex digits');

/**
 * Polecat: "my work on `branch` is ready" → a merge request. `branch` must be the polecat's own,
 * `gt/<agentId>/<beadId>` (another branch → 403 token_scope). The container copies the branch out of
 * the polecat's repository and sets `commit` to the tip it copied; whatever the agent put there is
 * replaced. The merge request records that commit (`metadata.commit`).
 *
 * Refinery: approve the merge request `mergeRequestBeadId` (its `branch` must match) at `commit`,
 * the commit it reviewed (required) → the container merges exactly that commit, or reports
 * `changed_since_review` when the branch is no longer at it. A commit other than the merge
 * request's `metadata.commit` → 409 changed_since_review at once.
 */
export const DoneArgsSchema = z
  .object({ branch: BranchNameSchema, summary: TextSchema.default(''), mergeRequestBeadId: BeadIdSchema.optional(), commit: CommitShaSchema.optional() })
  .strict();
export const RequestChangesArgsSchema = z.object({ mergeRequestBeadId: BeadIdSchema, feedback: TextSchema.min(1) }).strict();
export const EscalateArgsSchema = z
  .object({ title: TitleSchema, body: TextSchema.default(''), severity: z.enum(['low', 'medium', 'high']).default('medium') })
  .strict();
export const StatusArgsSchema = z.object({ text: z.string().trim().min(1).max(500) }).strict();
export const PrimeArgsSchema = z.object({}).strict();
export const BeadStatusArgsSchema = z.object({ beadId: BeadIdSchema }).strict();

export const PrimeResultSchema = z.object({
  agent: AgentSchema,
  rig: RigSchema.nullable(),
  hookedBead: BeadSchema.nullable(),
  unreadMail: z.array(MailSchema),
});

/** One entry of the tool table. */
interface ToolSpec {
  args: z.ZodType;
  result: z.ZodType;
  /** The roles allowed to call the tool: the worker enforces exactly this, and the plugin offers exactly this. */
  roles: readonly AgentRole[];
}

/**
 * Every tool: its argument schema, its result schema and the roles allowed to call it.
 * The plugin, the broker and the worker all read this one table; nothing else says who may call what.
 */
export const TOOLS = {
  sling: { args: SlingArgsSchema, result: z.object({ bead: BeadSchema }), roles: ['mayor'] },
  list_rigs: { args: ListRigsArgsSchema, result: z.object({ rigs: z.array(RigSchema) }), roles: ['mayor', 'polecat', 'refinery'] },
  list_beads: { args: ListBeadsArgsSchema, result: z.object({ beads: z.array(BeadSchema) }), roles: ['mayor', 'polecat', 'refinery'] },
  list_agents: { args: ListAgentsArgsSchema, result: z.object({ agents: z.array(AgentSchema) }), roles: ['mayor', 'polecat', 'refinery'] },
  mail_send: { args: MailSendArgsSchema, result: z.object({ mail: MailSchema }), roles: ['mayor', 'polecat', 'refinery'] },
  mail_check: { args: MailCheckArgsSchema, result: z.object({ mail: z.array(MailSchema) }), roles: ['mayor', 'polecat', 'refinery'] },
  done: { args: DoneArgsSchema, result: z.object({ mergeRequest: BeadSchema }), roles: ['polecat', 'refinery'] },
  request_changes: { args: RequestChangesArgsSchema, result: z.object({ bead: BeadSchema }), roles: ['refinery'] },
  escalate: { args: EscalateArgsSchema, result: z.object({ bead: BeadSchema }), roles: ['mayor', 'polecat', 'refinery'] },
  status: { args: StatusArgsSchema, result: z.object({ ok: z.literal(true) }), roles: ['mayor', 'polecat', 'refinery'] },
  prime: { args: PrimeArgsSchema, result: PrimeResultSchema, roles: ['polecat', 'refinery', 'mayor'] },
  bead_status: { args: BeadStatusArgsSchema, result: z.object({ bead: BeadSchema }), roles: ['mayor', 'polecat', 'refinery'] },
  bead_update: { args: BeadUpdateArgsSchema, result: z.object({ bead: BeadSchema }), roles: ['mayor'] },
  nudge: { args: NudgeArgsSchema, result: z.object({ agent: AgentSchema, delivered: z.literal(true) }), roles: ['mayor'] },
  /** Several beads and one convoy of them (convoy-api.ts). */
  sling_batch: { args: SlingBatchArgsSchema, result: SlingBatchResultSchema, roles: ['mayor'] },
  list_convoys: { args: ListConvoysArgsSchema, result: z.object({ convoys: z.array(ConvoySchema) }), roles: ['mayor'] },
  convoy_status: { args: ConvoyStatusArgsSchema, result: ConvoyDetailResponseSchema, roles: ['mayor'] },
} as const satisfies Record<string, ToolSpec>;
export type ToolName = keyof typeof TOOLS;
export const TOOL_NAMES = Object.keys(TOOLS) as [ToolName, ...ToolName[]];

/** Whether `role` may call `tool` (TOOLS[tool].roles). */
export function toolAllowed(tool: ToolName, role: AgentRole): boolean {
  const roles: readonly AgentRole[] = TOOLS[tool].roles;
  return roles.includes(role);
}

/** The tools each role may call, in TOOLS order: a view of TOOLS, not a second table. */
export const ROLE_TOOLS: Readonly<Record<AgentRole, readonly ToolName[]>> = Object.freeze(
  Object.fromEntries(AgentRoleSchema.options.map((role) => [role, Object.freeze(TOOL_NAMES.filter((tool) => toolAllowed(tool, role)))])) as Record<
    AgentRole,
    readonly ToolName[]
  >,
);
export const ToolNameSchema = z.enum(TOOL_NAMES);
export type ToolArgs<T extends ToolName> = z.input<(typeof TOOLS)[T]['args']>;
export type ToolResult<T extends ToolName> = z.infer<(typeof TOOLS)[T]['result']>;

// ---- lifecycle ------------------------------------------------------------

/** What the runtime is doing, as the container sees it. */
export const RuntimeStateSchema = z.enum(['starting', 'running', 'idle', 'exiting', 'exited', 'failed']);
export type RuntimeState = z.infer<typeof RuntimeStateSchema>;

export const HeartbeatRequestSchema = z
  .object({
    containerInstanceId: z.string().min(1).max(100),
    runtimeState: RuntimeStateSchema,
    /** The agent's own view: working on a turn, or waiting for input. */
    activity: z.enum(['working', 'waiting']),
    credential: CredentialStatusSchema,
    pid: z.number().int().nullable(),
    sessionId: z.string().max(200).nullable(),
    /** The run's sandbox level; optional so containers older than the sandbox still validate. */
    isolation: IsolationLevelSchema.optional(),
  })
  .strict();
export type HeartbeatRequest = z.infer<typeof HeartbeatRequestSchema>;
export const HeartbeatResponseSchema = z.object({ ok: z.literal(true), gen: z.number().int(), serverTime: z.number().int() });
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;

export const AgentEventSchema = z
  .object({
    /** Client-generated id; the control plane drops duplicates, so retries are safe. */
    id: z
      .string()
      .min(8)
      .max(64)
      .regex(/^[A-Za-z0-9_-]+$/),
    type: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[a-z][a-z0-9_.]*$/),
    at: z.number().int(),
    data: z.record(z.string(), z.unknown()),
  })
  .strict();
export type AgentEvent = z.infer<typeof AgentEventSchema>;
export const EventBatchRequestSchema = z.object({ events: z.array(AgentEventSchema).min(1).max(LIMITS.maxEventsPerBatch) }).strict();
export type EventBatchRequest = z.infer<typeof EventBatchRequestSchema>;
export const EventBatchResponseSchema = z.object({ accepted: z.number().int(), duplicates: z.number().int() });

export const CompletionRequestSchema = z
  .object({
    /** `drained`: the container is going away (SIGTERM); a polecat's work is committed and pushed on its branch and the bead is re-dispatched from it. */
    outcome: z.enum(['completed', 'failed', 'stopped', 'drained']),
    reason: z.string().max(2000).default(''),
    branch: BranchNameSchema.nullable().default(null),
  })
  .strict();
export type CompletionRequest = z.input<typeof CompletionRequestSchema>;
export const CompletionResponseSchema = z.object({ ok: z.literal(true), beadStatus: BeadStatusSchema.nullable() });

export const MergeResultRequestSchema = z
  .object({
    mergeRequestBeadId: BeadIdSchema,
    /** changed_since_review: the branch no longer points at the approved commit; nothing was merged, the merge request goes back to review. */
    /** `pushed`: pull-request strategy — the approved commit is on the branch at the rig; the control plane opens the pull request. */
    outcome: z.enum(['merged', 'pushed', 'conflict', 'failed', 'changed_since_review']),
    /** merged: the merge commit on the default branch. changed_since_review: the branch's current tip (not reviewed). Otherwise null. */
    commitSha: CommitShaSchema.nullable().default(null),
    message: z.string().max(4000).default(''),
  })
  .strict();
export type MergeResultRequest = z.input<typeof MergeResultRequestSchema>;
export const MergeResultResponseSchema = z.object({ mergeRequest: BeadSchema, sourceBead: BeadSchema.nullable() });

export const RefreshRequestSchema = z.object({}).strict();
