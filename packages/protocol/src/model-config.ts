/**
 * How a town reaches models: the provider (kind, base URL, the town env var holding its key),
 * the model of each role, per-model prices and an optional spend cap. The provider key never
 * leaves the container's broker: agents call the broker's model proxy, which speaks the kind's
 * wire format upstream (docs/CONFIGURATION.md).
 */
import { z } from 'zod';
import { EnvVarNameSchema } from './common';
import { PROVIDER_KIND_INFO, PROVIDER_KINDS } from './provider-kinds';

// The kinds and their defaults live in a zod-free module (the dashboard bundles it); re-exported here.
export { PROVIDER_KIND_INFO, PROVIDER_KINDS, type ModelWireFormat, type ProviderKind, type ProviderKindInfo } from './provider-kinds';
export const ProviderKindSchema = z.enum(PROVIDER_KINDS);

/** A model id at the provider: `gpt-4o-mini`, `claude-sonnet-4-5`, `anthropic/claude-sonnet-4.5`. */
export const ModelIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:/@-]+$/, 'must be a model id: letters, digits and . _ : / @ -');
export type ModelId = z.infer<typeof ModelIdSchema>;

/**
 * The stored provider (what the API returns and the container receives). `model` is the legacy
 * single-model field (before per-role models): the worker moves it into `models.default`; the
 * container uses it only when a start request carries no `model`.
 */
export const ProviderConfigSchema = z
  .object({
    kind: ProviderKindSchema,
    baseUrl: z.string().url().max(500),
    apiKeyEnvVar: EnvVarNameSchema.nullable(),
    model: ModelIdSchema.optional(),
  })
  .strict();
export type ProviderConfig = z.infer<typeof ProviderConfigSchema>;

/**
 * What a user sends. `baseUrl` and `apiKeyEnvVar` default per kind (PROVIDER_KIND_INFO); an
 * `openai-compatible` provider must name its `baseUrl`. Parsing yields a full ProviderConfig.
 */
export const ProviderInputSchema = z
  .object({
    kind: ProviderKindSchema,
    baseUrl: z.string().url().max(500).optional(),
    apiKeyEnvVar: EnvVarNameSchema.nullable().optional(),
    model: ModelIdSchema.optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.baseUrl === undefined && PROVIDER_KIND_INFO[value.kind].defaultBaseUrl === null) {
      ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: `a ${value.kind} provider needs a baseUrl` });
    }
  })
  .transform((value): ProviderConfig => {
    const info = PROVIDER_KIND_INFO[value.kind];
    return {
      kind: value.kind,
      baseUrl: (value.baseUrl ?? info.defaultBaseUrl ?? '').replace(/\/+$/, ''),
      apiKeyEnvVar: value.apiKeyEnvVar === undefined ? info.defaultApiKeyEnvVar : value.apiKeyEnvVar,
      ...(value.model !== undefined ? { model: value.model } : {}),
    };
  });
export type ProviderInput = z.input<typeof ProviderInputSchema>;

/** Roles that can have their own model; `small` serves titles and summaries. */
export const MODEL_ROLES = ['mayor', 'polecat', 'refinery', 'small'] as const;
export const ModelRoleSchema = z.enum(MODEL_ROLES);
export type ModelRole = z.infer<typeof ModelRoleSchema>;

/** A town's models. Null entries fall back to `default`. `allowed` lists extra models `gt_sling` may pick per bead. */
export const TownModelsSchema = z
  .object({
    default: ModelIdSchema,
    mayor: ModelIdSchema.nullable().default(null),
    polecat: ModelIdSchema.nullable().default(null),
    refinery: ModelIdSchema.nullable().default(null),
    small: ModelIdSchema.nullable().default(null),
    allowed: z.array(ModelIdSchema).max(50).default([]),
  })
  .strict();
export type TownModels = z.infer<typeof TownModelsSchema>;

/** A partial update of a town's models: a value sets, null clears (not `default`). */
export const TownModelsPatchSchema = z
  .object({
    default: ModelIdSchema.optional(),
    mayor: ModelIdSchema.nullable().optional(),
    polecat: ModelIdSchema.nullable().optional(),
    refinery: ModelIdSchema.nullable().optional(),
    small: ModelIdSchema.nullable().optional(),
    allowed: z.array(ModelIdSchema).max(50).optional(),
  })
  .strict();
export type TownModelsPatch = z.infer<typeof TownModelsPatchSchema>;

/** A rig's own models for its polecats and refinery (null: the town's). */
export const RigModelsSchema = z
  .object({
    polecat: ModelIdSchema.nullable().default(null),
    refinery: ModelIdSchema.nullable().default(null),
  })
  .strict();
export type RigModels = z.infer<typeof RigModelsSchema>;

/**
 * A rig's models in a create or update: a value sets the role's model, null returns it to the
 * town's, absent keeps it (no defaults here: `RigModelsSchema.partial()` would fill the absent role with null).
 */
export const RigModelsPatchSchema = z
  .object({
    polecat: ModelIdSchema.nullable().optional(),
    refinery: ModelIdSchema.nullable().optional(),
  })
  .strict();
export type RigModelsPatch = z.infer<typeof RigModelsPatchSchema>;

/** US dollars per million tokens. Cache prices default to the input price when absent. */
export const ModelPriceSchema = z
  .object({
    inputPerMTok: z.number().min(0).max(10_000),
    outputPerMTok: z.number().min(0).max(10_000),
    cacheReadPerMTok: z.number().min(0).max(10_000).optional(),
    cacheWritePerMTok: z.number().min(0).max(10_000).optional(),
  })
  .strict();
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

/** A town's price overrides, by model id (a null value removes the override in a patch). */
export const ModelPricesSchema = z.record(ModelIdSchema, ModelPriceSchema).refine((r) => Object.keys(r).length <= 100, 'at most 100 prices');
export const ModelPricesPatchSchema = z.record(ModelIdSchema, ModelPriceSchema.nullable()).refine((r) => Object.keys(r).length <= 100, 'at most 100 prices');

export const SpendPeriodSchema = z.enum(['day', 'month']);
export type SpendPeriod = z.infer<typeof SpendPeriodSchema>;

/** At 80 % of `limitUsd` in the current UTC day or month: an escalation; at 100 %: no new work until raised. */
export const SpendCapSchema = z
  .object({
    period: SpendPeriodSchema,
    limitUsd: z.number().positive().max(1_000_000),
  })
  .strict();
export type SpendCap = z.infer<typeof SpendCapSchema>;

/** The model a role runs with: its own, else the default. */
export function modelForRole(models: TownModels, role: 'mayor' | 'polecat' | 'refinery' | 'small'): string {
  return models[role] ?? models.default;
}

/** Every model the town allows: the default, each role's, each rig override given, and `allowed`. */
export function allowedModels(models: TownModels, rigOverrides: readonly (string | null)[] = []): string[] {
  const all = [models.default, models.mayor, models.polecat, models.refinery, models.small, ...models.allowed, ...rigOverrides];
  return [...new Set(all.filter((m): m is string => typeof m === 'string'))];
}
