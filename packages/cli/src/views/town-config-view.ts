/**
 * The town's model settings as `gastown config show` prints them: the provider (kind, base URL,
 * the NAME of the env var holding its key — the key itself is write-only and never returned),
 * the model of each role (`(default)` where a role falls back), the spend cap and the price
 * overrides. Pure: a town in, lines out.
 */
import { formatUsd, MODEL_ROLES, type ModelPrice, type Town, type TownModels } from '@gastown/protocol';

const LABEL_WIDTH = 13;
const ROLE_WIDTH = 9;

function row(label: string, text: string): string {
  return `${label.padEnd(LABEL_WIDTH)} ${text}`;
}

/** `1.25` → `$1.25`, `0.075` → `$0.075`, `15` → `$15`. */
export function formatPerMTok(usd: number): string {
  return `$${Number(usd.toFixed(4))}`;
}

/** `in $3 · out $15 · cache read $0.3 · cache write $3.75 per MTok`. */
export function priceText(price: ModelPrice): string {
  const parts = [`in ${formatPerMTok(price.inputPerMTok)}`, `out ${formatPerMTok(price.outputPerMTok)}`];
  if (price.cacheReadPerMTok !== undefined) parts.push(`cache read ${formatPerMTok(price.cacheReadPerMTok)}`);
  if (price.cacheWritePerMTok !== undefined) parts.push(`cache write ${formatPerMTok(price.cacheWritePerMTok)}`);
  return `${parts.join(' · ')} per MTok`;
}

/** The town's models; a town stored before per-role models names its one model in the provider. */
export function townModels(config: Town['config']): TownModels | null {
  if (config.models) return config.models;
  const legacy = config.provider?.model;
  return legacy ? { default: legacy, mayor: null, polecat: null, refinery: null, small: null, allowed: [] } : null;
}

export function townConfigLines(town: Town): string[] {
  const c = town.config;
  const lines = [`town ${town.name} (${town.id})`];
  const p = c.provider;
  lines.push(
    row(
      'provider',
      p ? `${p.kind}  ${p.baseUrl}  key: ${p.apiKeyEnvVar === null ? 'none' : `$${p.apiKeyEnvVar}`}` : '(not set: `gastown config set provider.kind <kind>`)',
    ),
  );
  const models = townModels(c);
  if (!models) {
    lines.push(row('models', '(not set: `gastown config set models.default <model>`)'));
  } else {
    lines.push(row('models', `${'default'.padEnd(ROLE_WIDTH)} ${models.default}`));
    for (const role of MODEL_ROLES) {
      const own = models[role];
      lines.push(row('', `${role.padEnd(ROLE_WIDTH)} ${own ?? `${models.default} (default)`}`));
    }
    if (models.allowed.length > 0) lines.push(row('', `${'allowed'.padEnd(ROLE_WIDTH)} ${models.allowed.join(', ')}`));
  }
  lines.push(row('spend cap', c.spendCap ? `${formatUsd(Math.round(c.spendCap.limitUsd * 1_000_000))} per ${c.spendCap.period}` : 'none'));
  const prices = Object.entries(c.prices ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (prices.length === 0) lines.push(row('prices', 'built-in list prices (no overrides)'));
  prices.forEach(([model, price], i) => lines.push(row(i === 0 ? 'prices' : '', `${model}  ${priceText(price)}`)));
  lines.push(row('polecats', c.maxPolecats == null ? "at most the deployment's default at once" : `at most ${c.maxPolecats} at once`));
  const instructions = Object.entries(c.instructions ?? {}).filter(([, text]) => typeof text === 'string' && text !== '');
  if (instructions.length === 0) lines.push(row('instructions', 'none'));
  instructions.forEach(([role, text], i) => {
    const oneLine = String(text).replace(/\s+/g, ' ');
    lines.push(row(i === 0 ? 'instructions' : '', `${role.padEnd(ROLE_WIDTH)} ${oneLine.length > 60 ? `${oneLine.slice(0, 59)}…` : oneLine}`));
  });
  return lines;
}
