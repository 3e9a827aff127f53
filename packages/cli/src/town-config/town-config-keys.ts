/**
 * `gastown config set|unset <key>` for the town's own settings (the CLI's own are url, token,
 * town, admin-secret): the model provider, the model of each role, price overrides and the spend
 * cap. Pure: a key, a value and the town's current config in, the `PATCH …/config` body out.
 * Values are checked with the protocol's schemas first, so a typo never reaches the server; a
 * message names the key, never a secret (a provider key is only ever named by its env var).
 */
import {
  EnvVarNameSchema,
  MaxPolecatsSchema,
  RoleInstructionsTextSchema,
  MODEL_ROLES,
  ModelIdSchema,
  ModelPriceSchema,
  PROVIDER_KIND_INFO,
  PROVIDER_KINDS,
  ProviderInputSchema,
  SpendCapSchema,
  SpendPeriodSchema,
  type ModelPrice,
  type ProviderInput,
  type ProviderKind,
  type TownConfig,
  type UpdateTownConfigRequestSchema,
} from '@gastown/protocol';
import type { z } from 'zod';
import { CliError } from '../errors';

export const TOWN_KEYS_HELP = `Town settings (sent to the server for the town; --town picks it):
  provider.kind <kind>            ${PROVIDER_KINDS.join(' | ')} (base URL and key var
                                  reset to the kind's defaults); provider none removes it
  provider.baseUrl <url>          the provider's API (default: the kind's; without a provider
                                  it sets an openai-compatible one); default resets it
  provider.apiKeyEnvVar <NAME>    the town env var holding the key (its NAME, never the key);
                                  default: the kind's; none: no key
  models.default <model>          the model every role falls back to
  models.mayor|polecat|refinery|small <model>
                                  a role's own model; none (or default) falls back to default
  models.allowed <a,b,…>          extra models gt_sling may pick per bead; none clears
  spendCap.limitUsd <usd>         stop new work once the period's spend reaches it; none removes
  spendCap.period <day|month>     the cap's period (UTC), default day; spendCap none removes it
  prices.<model> <in/out[/cacheRead/cacheWrite]>
                                  USD per million tokens (cache prices default to in); none
                                  returns to the built-in price
  maxPolecats <n>                 polecats running at once in the town (1–100); none: the
                                  deployment's default (GASTOWN_MAX_POLECATS)
  instructions.mayor|polecat|refinery <text>
                                  appended to that role's briefing (the agent reads it: no
                                  secrets); none removes it`;

/** A `PATCH …/config` body as sent (a provider's base URL and key var may be left to their defaults). */
export type TownConfigPatch = z.input<typeof UpdateTownConfigRequestSchema>;

/** The words that clear a setting. */
const CLEAR = new Set(['none', 'default']);

export type TownKey =
  | { kind: 'provider' }
  | { kind: 'provider.kind' | 'provider.baseUrl' | 'provider.apiKeyEnvVar' }
  | { kind: 'models.role'; role: 'default' | (typeof MODEL_ROLES)[number] }
  | { kind: 'models.allowed' }
  | { kind: 'spendCap' | 'spendCap.limitUsd' | 'spendCap.period' }
  | { kind: 'prices'; model: string }
  | { kind: 'maxPolecats' }
  | { kind: 'instructions'; role: 'mayor' | 'polecat' | 'refinery' };

function usage(message: string, hint?: string): CliError {
  return new CliError('usage', message, hint === undefined ? {} : { hint });
}

function firstIssue(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'is invalid';
}

/** A town key (`models.polecat`), or null when `raw` is not one (it may be a CLI key). */
export function parseTownKey(raw: string): TownKey | null {
  if (raw === 'provider') return { kind: 'provider' };
  if (raw === 'provider.kind' || raw === 'provider.baseUrl' || raw === 'provider.apiKeyEnvVar') return { kind: raw };
  if (raw === 'spendCap' || raw === 'spendCap.limitUsd' || raw === 'spendCap.period') return { kind: raw };
  if (raw === 'models.allowed') return { kind: 'models.allowed' };
  if (raw.startsWith('models.')) {
    const role = raw.slice('models.'.length);
    if (role === 'default' || (MODEL_ROLES as readonly string[]).includes(role)) return { kind: 'models.role', role: role as 'default' };
    throw usage(`unknown key ${JSON.stringify(raw)}: the roles are default, ${MODEL_ROLES.join(', ')} (and models.allowed)`);
  }
  if (raw.startsWith('prices.')) {
    const model = raw.slice('prices.'.length);
    const parsed = ModelIdSchema.safeParse(model);
    if (!parsed.success) throw usage(`${raw}: the model id ${firstIssue(parsed.error)}`);
    return { kind: 'prices', model };
  }
  if (raw === 'maxPolecats') return { kind: 'maxPolecats' };
  if (raw === 'instructions.mayor' || raw === 'instructions.polecat' || raw === 'instructions.refinery') {
    return { kind: 'instructions', role: raw.slice('instructions.'.length) as 'mayor' | 'polecat' | 'refinery' };
  }
  if (raw.startsWith('provider.') || raw.startsWith('spendCap.') || raw.startsWith('instructions.'))
    throw usage(`unknown key ${JSON.stringify(raw)}`, 'see `gastown config set --help`');
  return null;
}

/** What `config unset <key>` means for a town key: the value that clears it. */
export function unsetValue(key: TownKey, raw: string): string {
  if (key.kind === 'provider.kind') return 'none';
  if (key.kind === 'models.role' && key.role === 'default') {
    throw usage('models.default cannot be removed: every other role falls back to it (set another model instead)');
  }
  if (key.kind === 'spendCap.period') throw usage(`${raw} cannot be removed on its own: \`gastown config unset spendCap\` removes the cap`);
  return key.kind === 'provider.baseUrl' || key.kind === 'provider.apiKeyEnvVar' ? 'default' : 'none';
}

/** The stored provider as an input to change one part of (its legacy `model` is never re-sent). */
function currentProvider(config: TownConfig): { kind: ProviderKind; baseUrl: string; apiKeyEnvVar: string | null } | null {
  const p = config.provider;
  return p ? { kind: p.kind, baseUrl: p.baseUrl, apiKeyEnvVar: p.apiKeyEnvVar } : null;
}

function checkedProvider(input: ProviderInput, key: string): ProviderInput {
  const parsed = ProviderInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '';
    throw usage(`${field === 'baseUrl' ? 'provider.baseUrl' : field === 'apiKeyEnvVar' ? 'provider.apiKeyEnvVar' : key}: ${issue?.message ?? 'is invalid'}`);
  }
  return input;
}

function providerPatch(
  key: TownKey & { kind: 'provider' | 'provider.kind' | 'provider.baseUrl' | 'provider.apiKeyEnvVar' },
  value: string,
  config: TownConfig,
): ProviderInput | null {
  const current = currentProvider(config);
  if (key.kind === 'provider') {
    if (value !== 'none') throw usage('provider takes only none (to remove it); set its parts with provider.kind, provider.baseUrl, provider.apiKeyEnvVar');
    return null;
  }
  if (key.kind === 'provider.kind') {
    if (value === 'none') return null;
    if (!(PROVIDER_KINDS as readonly string[]).includes(value)) throw usage(`provider.kind must be one of ${PROVIDER_KINDS.join(', ')} (or none)`);
    const kind = value as ProviderKind;
    if (current?.kind === kind) return checkedProvider(current, key.kind);
    if (PROVIDER_KIND_INFO[kind].defaultBaseUrl === null) {
      // openai-compatible has no default URL: keep the one the town has, else it must be given.
      if (!current)
        throw usage(
          `an ${kind} provider needs its base URL`,
          'set it with `gastown config set provider.baseUrl <url>` (that sets an openai-compatible provider)',
        );
      return checkedProvider({ kind, baseUrl: current.baseUrl }, key.kind);
    }
    return checkedProvider({ kind }, key.kind);
  }
  if (key.kind === 'provider.baseUrl') {
    if (CLEAR.has(value)) {
      if (!current) throw usage('the town has no provider: set one with `gastown config set provider.kind <kind>`');
      if (PROVIDER_KIND_INFO[current.kind].defaultBaseUrl === null) throw usage(`an ${current.kind} provider has no default base URL: give one`);
      return checkedProvider({ kind: current.kind, apiKeyEnvVar: current.apiKeyEnvVar }, key.kind);
    }
    const baseUrl = value.replace(/\/+$/, '');
    return checkedProvider(current ? { kind: current.kind, baseUrl, apiKeyEnvVar: current.apiKeyEnvVar } : { kind: 'openai-compatible', baseUrl }, key.kind);
  }
  // provider.apiKeyEnvVar: only ever a NAME. Anything that is not one is refused without being echoed (it may be the key).
  if (!current) throw usage('the town has no provider: set one with `gastown config set provider.kind <kind>` first');
  if (value === 'default') return checkedProvider({ kind: current.kind, baseUrl: current.baseUrl }, key.kind);
  if (value === 'none') return checkedProvider({ kind: current.kind, baseUrl: current.baseUrl, apiKeyEnvVar: null }, key.kind);
  if (!EnvVarNameSchema.safeParse(value).success) {
    throw usage(
      'provider.apiKeyEnvVar takes the NAME of a town env var (e.g. ANTHROPIC_API_KEY), not the key itself',
      "set the key's value in the town's env vars (the dashboard's Settings, or the API's envVars)",
    );
  }
  return checkedProvider({ kind: current.kind, baseUrl: current.baseUrl, apiKeyEnvVar: value }, key.kind);
}

function modelId(value: string, key: string): string {
  const parsed = ModelIdSchema.safeParse(value);
  if (!parsed.success) throw usage(`${key}: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** `5`, `5.50`, `$5` → 5. */
function usd(value: string, key: string): number {
  const text = value.replace(/^\$/, '');
  if (!/^\d+(\.\d+)?$/.test(text)) throw usage(`${key} must be an amount in US dollars, e.g. 5 or 12.50`);
  return Number(text);
}

/** `3/15` or `3/15/0.3/3.75`: USD per million tokens for input, output, cache read, cache write. */
export function parsePrice(value: string, key: string): ModelPrice {
  const parts = value.split('/').map((p) => p.trim().replace(/^\$/, ''));
  if (parts.length < 2 || parts.length > 4 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) {
    throw usage(`${key} must be in/out[/cacheRead/cacheWrite] in USD per million tokens, e.g. 3/15 or 3/15/0.3/3.75 (or none)`);
  }
  const [input, output, cacheRead, cacheWrite] = parts.map(Number);
  const price: ModelPrice = {
    inputPerMTok: input ?? 0,
    outputPerMTok: output ?? 0,
    ...(cacheRead === undefined ? {} : { cacheReadPerMTok: cacheRead }),
    ...(cacheWrite === undefined ? {} : { cacheWritePerMTok: cacheWrite }),
  };
  const parsed = ModelPriceSchema.safeParse(price);
  if (!parsed.success) throw usage(`${key}: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** The PATCH body for `config set <key> <value>` on a town whose config is `config`. */
export function townConfigPatch(key: TownKey, raw: string, value: string, config: TownConfig): TownConfigPatch {
  switch (key.kind) {
    case 'provider':
    case 'provider.kind':
    case 'provider.baseUrl':
    case 'provider.apiKeyEnvVar':
      return { provider: providerPatch(key, value, config) };
    case 'models.role':
      if (key.role === 'default') {
        if (CLEAR.has(value)) throw usage('models.default cannot be cleared: every other role falls back to it');
        return { models: { default: modelId(value, raw) } };
      }
      return { models: { [key.role]: CLEAR.has(value) ? null : modelId(value, raw) } };
    case 'models.allowed': {
      const list =
        value === 'none'
          ? []
          : [
              ...new Set(
                value
                  .split(',')
                  .map((m) => m.trim())
                  .filter((m) => m !== ''),
              ),
            ];
      return { models: { allowed: list.map((m) => modelId(m, raw)) } };
    }
    case 'spendCap':
      if (value !== 'none') throw usage('spendCap takes only none (to remove it); set it with spendCap.limitUsd and spendCap.period');
      return { spendCap: null };
    case 'spendCap.limitUsd': {
      if (value === 'none') return { spendCap: null };
      const cap = { period: config.spendCap?.period ?? 'day', limitUsd: usd(value, raw) };
      const parsed = SpendCapSchema.safeParse(cap);
      if (!parsed.success) throw usage(`${raw}: ${firstIssue(parsed.error)}`);
      return { spendCap: parsed.data };
    }
    case 'spendCap.period': {
      const period = SpendPeriodSchema.safeParse(value);
      if (!period.success) throw usage('spendCap.period must be day or month');
      if (!config.spendCap) throw usage('the town has no spend cap: set spendCap.limitUsd first (its period is day unless you change it)');
      return { spendCap: { period: period.data, limitUsd: config.spendCap.limitUsd } };
    }
    case 'prices':
      return { prices: { [key.model]: value === 'none' ? null : parsePrice(value, raw) } };
    case 'maxPolecats': {
      if (CLEAR.has(value)) return { maxPolecats: null };
      const parsed = MaxPolecatsSchema.safeParse(/^\d+$/.test(value) ? Number(value) : NaN);
      if (!parsed.success) throw usage('maxPolecats must be a whole number from 1 to 100 (or none)');
      return { maxPolecats: parsed.data };
    }
    case 'instructions': {
      if (value === 'none') return { instructions: { [key.role]: null } };
      const parsed = RoleInstructionsTextSchema.safeParse(value);
      if (!parsed.success) throw usage(`${raw}: ${firstIssue(parsed.error)}`);
      return { instructions: { [key.role]: parsed.data } };
    }
  }
}
