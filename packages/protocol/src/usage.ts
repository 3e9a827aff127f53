/**
 * Usage and cost. The container's model proxy measures every model call and sends one
 * `model.usage` event per call with the agent's other events (batched, retried, deduplicated by
 * event id). The TownDO prices it and keeps totals; users read them with `GET /api/towns/:townId/usage`.
 */
import { z } from 'zod';
import { ModelIdSchema, ProviderKindSchema, SpendCapSchema } from './model-config';

export const MODEL_USAGE_EVENT = 'model.usage';

const TokenCount = z.number().int().min(0).max(1_000_000_000);

/** The `data` of a `model.usage` event. Agent, role, rig and bead come from the agent's own record at the control plane. */
export const ModelUsageRecordSchema = z
  .object({
    /** The model the request named. */
    model: ModelIdSchema,
    providerKind: ProviderKindSchema,
    /** Tokens read without cache (Anthropic `input_tokens`; OpenAI `prompt_tokens` minus cached). */
    inputTokens: TokenCount,
    outputTokens: TokenCount,
    cacheReadTokens: TokenCount,
    cacheWriteTokens: TokenCount,
    /** From the request reaching the proxy to the end of the response body. */
    latencyMs: z.number().int().min(0),
    streamed: z.boolean(),
    /** The provider's HTTP status (0: unreachable). */
    status: z.number().int().min(0).max(999),
    /** The provider's error type or code (`authentication_error`, `invalid_api_key`, `rate_limit_exceeded`…), null on success. */
    errorCode: z.string().max(100).nullable(),
  })
  .strict();
export type ModelUsageRecord = z.infer<typeof ModelUsageRecordSchema>;

/** Sums over a set of calls. `costUsd` is exact to the micro-dollar; calls of unknown models count as `unpricedCalls`. */
export const UsageTotalsSchema = z.object({
  calls: z.number().int(),
  errors: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cacheReadTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  costMicros: z.number().int(),
  costUsd: z.number(),
  unpricedCalls: z.number().int(),
});
export type UsageTotals = z.infer<typeof UsageTotalsSchema>;

export const USAGE_GROUPS = ['bead', 'role', 'model', 'day', 'rig', 'agent'] as const;
export const UsageGroupSchema = z.enum(USAGE_GROUPS);
export type UsageGroup = z.infer<typeof UsageGroupSchema>;

/** `GET /api/towns/:townId/usage?by=&from=&to=`: `from`/`to` are ms epoch (to exclusive); default: everything. */
export const UsageQuerySchema = z
  .object({
    by: UsageGroupSchema.default('day'),
    from: z.coerce.number().int().min(0).optional(),
    to: z.coerce.number().int().min(0).optional(),
  })
  .strict();
export type UsageQuery = z.infer<typeof UsageQuerySchema>;

export const UsageRowSchema = UsageTotalsSchema.extend({
  /** The group's key: a bead/agent/rig id, a role, a model id, or a UTC day `YYYY-MM-DD`; `"none"` when the call had none (a mayor's bead). */
  key: z.string(),
  /** A human label when there is one (a bead's title, an agent's name, a rig's name). */
  label: z.string().nullable(),
});
export type UsageRow = z.infer<typeof UsageRowSchema>;

/** Where the town stands against its spend cap in the current period. */
export const SpendStatusSchema = z.object({
  cap: SpendCapSchema,
  /** Start of the current UTC day or month (ms). */
  periodStart: z.number().int(),
  spentMicros: z.number().int(),
  spentUsd: z.number(),
  /** `warning` from 80 %, `capped` from 100 %. */
  state: z.enum(['ok', 'warning', 'capped']),
});
export type SpendStatus = z.infer<typeof SpendStatusSchema>;

export const UsageResponseSchema = z.object({
  by: UsageGroupSchema,
  from: z.number().int().nullable(),
  to: z.number().int().nullable(),
  totals: UsageTotalsSchema,
  /** Sorted by cost, then calls, descending (`day`: by day ascending). */
  rows: z.array(UsageRowSchema),
  spend: SpendStatusSchema.nullable(),
});
export type UsageResponse = z.infer<typeof UsageResponseSchema>;

/** `GET /api/towns/:townId/models`: the provider's model list where it has one (empty with `source: 'none'` otherwise). */
export const ModelListResponseSchema = z.object({
  source: z.enum(['provider', 'none']),
  models: z.array(z.object({ id: z.string(), name: z.string().nullable() })),
});
export type ModelListResponse = z.infer<typeof ModelListResponseSchema>;

/** Start of the UTC day or month containing `now`. */
export function spendPeriodStart(period: 'day' | 'month', now: number): number {
  const d = new Date(now);
  return period === 'day' ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}
