import { z } from 'zod';
import { MAX_AGENT_TOKEN_TTL_SECONDS, MIN_AGENT_TOKEN_TTL_SECONDS } from './claims';
import { BranchNameSchema, EnvVarNameSchema, GitUrlSchema, LIMITS, NameSchema, TextSchema, UserIdSchema } from './common';
import {
  AgentSchema,
  BeadSchema,
  BeadStatusSchema,
  MailSchema,
  MayorMessageSchema,
  ProviderConfigSchema,
  RigSchema,
  RuntimeKindSchema,
  TownEventSchema,
  TownSchema,
} from './models';

export { USER_API } from './user-routes';

// Admin: mint a user token. Guarded by GASTOWN_ADMIN_SECRET.
export const CreateUserTokenRequestSchema = z
  .object({
    userId: UserIdSchema,
    ttlSeconds: z.number().int().min(60).max(365 * 24 * 3600).optional(),
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
    provider: ProviderConfigSchema.nullable().optional(),
    runtime: RuntimeKindSchema.optional(),
    envVars: EnvVarsPatchSchema.optional(),
    sleepAfterSeconds: z.number().int().min(10).max(7 * 24 * 3600).optional(),
    agentTokenTtlSeconds: z.number().int().min(MIN_AGENT_TOKEN_TTL_SECONDS).max(MAX_AGENT_TOKEN_TTL_SECONDS).optional(),
  })
  .strict();
export type UpdateTownConfigRequest = z.infer<typeof UpdateTownConfigRequestSchema>;

export const CreateRigRequestSchema = z
  .object({
    name: NameSchema,
    gitUrl: GitUrlSchema,
    defaultBranch: BranchNameSchema.default('main'),
  })
  .strict();
export type CreateRigRequest = z.input<typeof CreateRigRequestSchema>;
export const RigResponseSchema = z.object({ rig: RigSchema });
export const RigListResponseSchema = z.object({ rigs: z.array(RigSchema) });

export const AgentListResponseSchema = z.object({ agents: z.array(AgentSchema) });
export const AgentResponseSchema = z.object({ agent: AgentSchema });

export const BeadListQuerySchema = z.object({ status: BeadStatusSchema.optional() }).strict();
export const BeadListResponseSchema = z.object({ beads: z.array(BeadSchema) });
export const MailListResponseSchema = z.object({ mail: z.array(MailSchema) });

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

export const EventListQuerySchema = z
  .object({
    after: z.coerce.number().int().nonnegative().optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
  })
  .strict();
export const EventListResponseSchema = z.object({ events: z.array(TownEventSchema) });
