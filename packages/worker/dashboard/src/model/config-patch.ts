import type { Town, TownModels } from '@gastown/protocol';
import { PROVIDER_KIND_INFO, PROVIDER_KINDS, type ProviderKind } from '@gastown/protocol/provider-kinds';

/** The model fields of the settings form: the default and each role's own (empty: the default). */
export const MODEL_FIELDS = ['default', 'mayor', 'polecat', 'refinery', 'small'] as const;
export type ModelField = (typeof MODEL_FIELDS)[number];

/** The settings form's raw values. */
export interface SettingsFormValues {
  /** One of PROVIDER_KINDS, or '' for no provider. */
  providerKind: string;
  /** Empty: the kind's default base URL. */
  baseUrl: string;
  /** Empty: the kind's default key env var. */
  apiKeyEnvVar: string;
  models: Record<ModelField, string>;
  /** Extra models gt_sling may pick, comma-separated. */
  allowedModels: string;
  /** US dollars; empty: no cap. */
  spendCapLimit: string;
  spendCapPeriod: string;
  runtime: string;
  sleepAfter: string;
  tokenTtl: string;
}

export function isProviderKind(value: string): value is ProviderKind {
  return (PROVIDER_KINDS as readonly string[]).includes(value);
}

/** A number input's value as the API should see it: an integer, or the raw text for the server to reject. */
export function numberOrRaw(value: string): number | string {
  return /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
}

/** An amount in dollars (`5`, `12.50`, `$5`), or the raw text for the server to reject. */
export function usdOrRaw(value: string): number | string {
  const text = value.trim().replace(/^\$/, '');
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : value;
}

/** The town's models; a town stored before per-role models names its one model in the provider. */
export function townModels(config: Town['config']): TownModels | null {
  if (config.models) return config.models;
  const legacy = config.provider?.model;
  return legacy ? { default: legacy, mayor: null, polecat: null, refinery: null, small: null, allowed: [] } : null;
}

/** `a, b,,a` → `['a', 'b']`. */
export function modelList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== ''),
    ),
  ];
}

/**
 * The provider as the form describes it, with the kind's defaults filled in for empty fields (an
 * openai-compatible provider has no default base URL: left out, the server names the field).
 */
function providerPatch(current: Town['config'], form: SettingsFormValues): Record<string, unknown> | null | undefined {
  const kind = form.providerKind.trim();
  if (kind === '') return current.provider !== null ? null : undefined;
  if (!isProviderKind(kind)) return { kind };
  const info = PROVIDER_KIND_INFO[kind];
  const baseUrl = form.baseUrl.trim().replace(/\/+$/, '') || info.defaultBaseUrl;
  const apiKeyEnvVar = form.apiKeyEnvVar.trim() || info.defaultApiKeyEnvVar;
  const p = current.provider;
  if (p && p.kind === kind && p.baseUrl === baseUrl && p.apiKeyEnvVar === apiKeyEnvVar) return undefined;
  return { kind, ...(baseUrl === null ? {} : { baseUrl }), apiKeyEnvVar };
}

/** What changed in the models: a role left empty falls back to the default (null); the default is never cleared. */
function modelsPatch(current: TownModels | null, form: SettingsFormValues): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  const def = form.models.default.trim();
  if (def !== '' && def !== current?.default) patch.default = def;
  for (const role of MODEL_FIELDS) {
    if (role === 'default') continue;
    const value = form.models[role].trim() || null;
    if (value !== (current?.[role] ?? null)) patch[role] = value;
  }
  const allowed = modelList(form.allowedModels);
  const before = current?.allowed ?? [];
  if (allowed.length !== before.length || allowed.some((m, i) => m !== before[i])) patch.allowed = allowed;
  return Object.keys(patch).length > 0 ? patch : undefined;
}

function spendCapPatch(current: Town['config'], form: SettingsFormValues): Record<string, unknown> | null | undefined {
  if (form.spendCapLimit.trim() === '') return current.spendCap ? null : undefined;
  const limitUsd = usdOrRaw(form.spendCapLimit);
  const period = form.spendCapPeriod;
  const cap = current.spendCap;
  if (cap && cap.limitUsd === limitUsd && cap.period === period) return undefined;
  return { period, limitUsd };
}

/** The config patch for what changed between `current` and the form's values: one PATCH for the whole form. Pure. */
export function configPatch(current: Town['config'], form: SettingsFormValues): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  const provider = providerPatch(current, form);
  if (provider !== undefined) patch.provider = provider;
  const models = modelsPatch(townModels(current), form);
  if (models !== undefined) patch.models = models;
  const spendCap = spendCapPatch(current, form);
  if (spendCap !== undefined) patch.spendCap = spendCap;
  if (form.runtime !== current.runtime) patch.runtime = form.runtime;
  const sleep = numberOrRaw(form.sleepAfter);
  if (sleep !== current.sleepAfterSeconds) patch.sleepAfterSeconds = sleep;
  const ttl = numberOrRaw(form.tokenTtl);
  if (ttl !== current.agentTokenTtlSeconds) patch.agentTokenTtlSeconds = ttl;
  return patch;
}

/** What the form shows for a stored provider: empty where the value is the kind's default (the placeholder shows it). */
export function providerFormValues(provider: Town['config']['provider']): Pick<SettingsFormValues, 'providerKind' | 'baseUrl' | 'apiKeyEnvVar'> {
  if (!provider) return { providerKind: '', baseUrl: '', apiKeyEnvVar: '' };
  const info = PROVIDER_KIND_INFO[provider.kind];
  return {
    providerKind: provider.kind,
    baseUrl: provider.baseUrl === info.defaultBaseUrl ? '' : provider.baseUrl,
    apiKeyEnvVar: provider.apiKeyEnvVar === null || provider.apiKeyEnvVar === info.defaultApiKeyEnvVar ? '' : provider.apiKeyEnvVar,
  };
}
