import { z } from 'zod';
import { MaxPolecatsSchema, RigInstructionsPatchSchema, SetupCommandSchema, SetupTimeoutSecondsSchema, TownInstructionsPatchSchema } from './agent-settings';
import { MergeStrategySchema, RigAuthInputSchema, RigProviderInputSchema } from './rig-auth';
import { MAX_AGENT_TOKEN_TTL_SECONDS, MIN_AGENT_TOKEN_TTL_SECONDS } from './claims';
import { BeadLabelSchema } from './bead-fields';
import { AgentIdSchema, BranchNameSchema, EnvVarNameSchema, GitUrlSchema, LIMITS, NameSchema, RigIdSchema, TextSchema, UserIdSchema } from './common';
import { AgentSchema, BeadSchema, BeadStatusSchema, MailSchema, MayorMessageSchema, RigSchema, RuntimeKindSchema, TownEventSchema, TownSchema } from './models';
import { ModelPricesPatchSchema, ProviderInputSchema, RigModelsPatchSchema, SpendCapSchema, TownModelsPatchSchema } from './model-config';

export { USER_API } from './user-routes';

// Admin: mint a user token. Guarded by GASTOWN_ADMIN_SECRET.
export const CreateUserTokenRequestSchema = z
  .object({
    userId: UserIdSchema,
    ttlSeconds: z
      .number()
      .int()
      .min(60)
      .max(365 * 24 * 3600)
      .optional(),
  })
  .strict();
export type CreateUserTokenRequest = z.infer<typeof CreateUserTokenRequestSchema>;
export const CreateUserTokenResponseSchema = z.object({ token: z.string(), userId: UserIdSchema, expiresAt: z.number().int() });
export type CreateUserTokenResponse = z.infer<typeof CreateUserTokenResponseSchema>;

export const CreateTownRequestSchema = z.object({ name: NameSchema }).strict();
export type CreateTownRequest = z.infer<typeof CreateTownRequestSchema>;
export const TownResponseSchema = z.object({ town: TownSchema });
export const TownListResponseSchema = z.object({ towns: z.array(TownSchema) });

const EnvVarsPatchSchema = z
  .record(EnvVarNameSchema, z.string().max(LIMITS.maxEnvValueChars).nullable())
  .refine((r) => Object.keys(r).length <= LIMITS.maxEnvVars, `at most ${LIMITS.maxEnvVars} env vars`);

/** Partial update of a town's config. `envVars`: a value sets the var, null deletes it. */
export const UpdateTownConfigRequestSchema = z
  .object({
    /** `baseUrl`/`apiKeyEnvVar` default per kind; a legacy `model` sets `models.default` unless `models.default` is given. */
    provider: ProviderInputSchema.nullable().optional(),
    /** Merged into the current models: a value sets a role's model, null clears it. `default` is required once a provider is set. */
    models: TownModelsPatchSchema.optional(),
    /** Merged into the town's price overrides (null removes one). */
    prices: ModelPricesPatchSchema.optional(),
    /** null removes the cap. Raising it (or removing it) resumes work stopped by it. */
    spendCap: SpendCapSchema.nullable().optional(),
    runtime: RuntimeKindSchema.optional(),
    envVars: EnvVarsPatchSchema.optional(),
    sleepAfterSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 3600)
      .optional(),
    agentTokenTtlSeconds: z.number().int().min(MIN_AGENT_TOKEN_TTL_SECONDS).max(MAX_AGENT_TOKEN_TTL_SECONDS).optional(),
    /** Polecats running at once in this town; null returns to the deployment's default. */
    maxPolecats: MaxPolecatsSchema.nullable().optional(),
    /** Merged into the current instructions: a value sets a role's, null removes it. */
    instructions: TownInstructionsPatchSchema.optional(),
  })
  .strict();
export type UpdateTownConfigRequest = z.infer<typeof UpdateTownConfigRequestSchema>;

/** A rig's settings in a create or update: a value sets, null removes (maxPolecats, setupCommand, an instruction), absent keeps. */
const RIG_SETTINGS_FIELDS = {
  maxPolecats: MaxPolecatsSchema.nullable().optional(),
  setupCommand: SetupCommandSchema.nullable().optional(),
  setupTimeoutSeconds: SetupTimeoutSecondsSchema.optional(),
  instructions: RigInstructionsPatchSchema.optional(),
};

export const CreateRigRequestSchema = z
  .object({
    name: NameSchema,
    gitUrl: GitUrlSchema,
    defaultBranch: BranchNameSchema.default('main'),
    /** Default `{kind: 'none'}`. Checked once against the remote before anything is stored (422 git_auth_failed). */
    auth: RigAuthInputSchema.optional(),
    mergeStrategy: MergeStrategySchema.default('direct'),
    provider: RigProviderInputSchema.optional(),
    /** The rig's own polecat/refinery models; each must be one the town allows (see allowedModels). */
    models: RigModelsPatchSchema.optional(),
    ...RIG_SETTINGS_FIELDS,
  })
  .strict();
export type CreateRigRequest = z.input<typeof CreateRigRequestSchema>;
/** `PATCH /api/towns/:townId/rigs/:rigId`: change how a rig authenticates or merges (a new secret is checked like at create). */
export const UpdateRigRequestSchema = z
  .object({
    auth: RigAuthInputSchema.optional(),
    mergeStrategy: MergeStrategySchema.optional(),
    provider: RigProviderInputSchema.optional(),
    /** A value sets the rig's model for the role, null returns it to the town's. */
    models: RigModelsPatchSchema.optional(),
    ...RIG_SETTINGS_FIELDS,
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');
export type UpdateRigRequest = z.input<typeof UpdateRigRequestSchema>;
export const RigResponseSchema = z.object({ rig: RigSchema });
export const RigListResponseSchema = z.object({ rigs: z.array(RigSchema) });

/**
 * Paginated lists (agents, beads, mail, events): `limit` items per page (1–500, default 100) and
 * an opaque `cursor`, the `nextCursor` of the previous page. `nextCursor` is null on the last page.
 * Items keep their order (oldest first), so following the cursors reads every item once.
 */
export const PAGE_LIMITS = { defaultLimit: 100, maxLimit: 500 } as const;
export const PageLimitSchema = z.coerce.number().int().min(1).max(PAGE_LIMITS.maxLimit);
export const PageCursorSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be the nextCursor of a previous page');
const PAGE_QUERY = { limit: PageLimitSchema.optional(), cursor: PageCursorSchema.optional() };
/** Always sent by the server; a response without it (an older server) reads as the last page. */
const NextCursorSchema = z.string().nullable().default(null);

export const AgentListQuerySchema = z.object(PAGE_QUERY).strict();
export const AgentListResponseSchema = z.object({ agents: z.array(AgentSchema), nextCursor: NextCursorSchema });
export const AgentResponseSchema = z.object({ agent: AgentSchema });

/** Beads: every filter given must match (`label`: the bead has that label; `assigneeId`: the agent holding it). */
export const BeadListQuerySchema = z
  .object({
    status: BeadStatusSchema.optional(),
    rigId: RigIdSchema.optional(),
    label: BeadLabelSchema.optional(),
    assigneeId: AgentIdSchema.optional(),
    ...PAGE_QUERY,
  })
  .strict();
export type BeadListQuery = z.input<typeof BeadListQuerySchema>;
export const BeadListResponseSchema = z.object({ beads: z.array(BeadSchema), nextCursor: NextCursorSchema });
export const MailListQuerySchema = z.object(PAGE_QUERY).strict();
export const MailListResponseSchema = z.object({ mail: z.array(MailSchema), nextCursor: NextCursorSchema });

export const MayorMessageRequestSchema = z.object({ text: TextSchema.min(1) }).strict();
export type MayorMessageRequest = z.infer<typeof MayorMessageRequestSchema>;
export const MayorMessageResponseSchema = z.object({
  message: MayorMessageSchema,
  delivery: z.enum(['stored', 'delivered', 'started', 'failed']),
  mayor: AgentSchema,
});
export type MayorMessageResponse = z.infer<typeof MayorMessageResponseSchema>;

/** Outcome of a credential reissue: the real result, never a silent success. */
export const ReissueResponseSchema = z.object({
  agent: AgentSchema,
  outcome: z.enum(['delivered', 'minted_not_running']),
  tokenExpiresAt: z.number().int(),
});
export type ReissueResponse = z.infer<typeof ReissueResponseSchema>;

/** Events: `after` (an event id) or `cursor` (not both), and `limit`. */
export const EventListQuerySchema = z
  .object({
    after: z.coerce.number().int().nonnegative().optional(),
    ...PAGE_QUERY,
  })
  .strict();
export const EventListResponseSchema = z.object({ events: z.array(TownEventSchema), nextCursor: NextCursorSchema });
