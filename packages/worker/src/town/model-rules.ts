/**
 * The town's model settings as pure rules: how a config patch merges into the stored models and
 * prices, how a legacy single-model provider reads, which model each agent runs with, and the
 * "is this model allowed" check (gt_sling's model, a rig's override). No storage, no I/O.
 */
import {
  GastownError,
  ModelIdSchema,
  TownModelsSchema,
  allowedModels,
  modelForRole,
  type AgentRole,
  type ModelPrice,
  type ProviderConfig,
  type RigModels,
  type TownModels,
  type TownModelsPatch,
} from '@gastown/protocol';

/** A town holds at most this many price overrides (protocol ModelPricesSchema). */
export const MAX_PRICE_OVERRIDES = 100;

/** The provider as stored and handed to the container: the legacy `model` lives in `models.default`. */
export function storedProvider(provider: ProviderConfig): ProviderConfig {
  const { model: _legacy, ...rest } = provider;
  return rest;
}

/**
 * A stored config from before per-role models (provider.model, no models) reads as models
 * `{default: provider.model}`; the provider itself reads without `model`.
 */
export function normaliseStoredModels(
  provider: ProviderConfig | null,
  models: TownModels | null,
): { provider: ProviderConfig | null; models: TownModels | null } {
  if (!provider) return { provider, models };
  const legacy = provider.model;
  return {
    provider: storedProvider(provider),
    models: models ?? (legacy !== undefined ? TownModelsSchema.parse({ default: legacy }) : null),
  };
}

/**
 * `current` with `patch` applied: a value sets a role's model, null clears it (`default` cannot be
 * cleared). `legacyDefault` (a provider's `model` in the same patch) sets `default` unless the patch
 * names one. Null when there is nothing to store; a patch that leaves no default → validation_failed.
 */
export function mergeTownModels(current: TownModels | null, patch: TownModelsPatch | undefined, legacyDefault: string | undefined): TownModels | null {
  const changes: TownModelsPatch = { ...patch };
  if (changes.default === undefined && legacyDefault !== undefined) changes.default = legacyDefault;
  if (Object.keys(changes).length === 0) return current;
  const merged = { ...current, ...stripUndefined(changes) };
  if (merged.default === undefined) {
    throw new GastownError('validation_failed', 'body.models.default: give the default model first (it is what every role falls back to)');
  }
  return TownModelsSchema.parse(merged);
}

/** The town's price overrides with `patch` merged in (null removes one); at most MAX_PRICE_OVERRIDES. */
export function mergePrices(current: Record<string, ModelPrice>, patch: Record<string, ModelPrice | null> | undefined): Record<string, ModelPrice> {
  if (!patch) return current;
  const next: Record<string, ModelPrice> = { ...current };
  for (const [model, price] of Object.entries(patch)) {
    if (price === null) delete next[model];
    else next[model] = price;
  }
  if (Object.keys(next).length > MAX_PRICE_OVERRIDES) {
    throw new GastownError('validation_failed', `body.prices: a town holds at most ${MAX_PRICE_OVERRIDES} price overrides`);
  }
  return next;
}

/** A town with a provider needs a default model: every role falls back to it. */
export function assertModelsForProvider(provider: ProviderConfig | null, models: TownModels | null): void {
  if (provider && !models) {
    throw new GastownError('validation_failed', 'body.models.default: a town with a model provider needs a default model (models.default, or provider.model)');
  }
}

/** 403 model_not_allowed unless `model` is one of `allowed`; the message names both (model ids are never secrets). */
export function assertModelAllowed(model: string, allowed: readonly string[], where: string): void {
  if (allowed.includes(model)) return;
  const list = allowed.length > 0 ? allowed.join(', ') : 'none yet (set the town models first: PATCH /api/towns/:townId/config {models})';
  throw new GastownError('model_not_allowed', `${where}: model ${model} is not allowed in this town; allowed models: ${list}`);
}

/** Every model a town allows, with the given rig overrides; none without town models. */
export function townAllowedModels(models: TownModels | null, rigOverrides: readonly (string | null)[] = []): string[] {
  return models ? allowedModels(models, rigOverrides) : [];
}

/** The model a bead asked for (gt_sling's `model`, kept in its metadata), if it is a model id. */
export function beadModel(metadata: Record<string, unknown> | null | undefined): string | null {
  const value = metadata?.model;
  return ModelIdSchema.safeParse(value).success ? (value as string) : null;
}

/**
 * The model an agent runs with: the mayor its role's; a polecat its bead's, else its rig's, else
 * its role's; a refinery its rig's, else its role's.
 */
export function modelForAgent(models: TownModels, role: AgentRole, rigModels: RigModels | null, bead: { metadata: Record<string, unknown> } | null): string {
  if (role === 'polecat') return beadModel(bead?.metadata) ?? rigModels?.polecat ?? modelForRole(models, 'polecat');
  if (role === 'refinery') return rigModels?.refinery ?? modelForRole(models, 'refinery');
  return modelForRole(models, 'mayor');
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
