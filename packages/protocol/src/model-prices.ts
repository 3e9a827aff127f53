/**
 * What a model call cost: token counts × the per-model price, in micro-dollars (integers, so
 * totals add up exactly). Default list prices for common models; a town overrides any of them.
 * No imports beyond types: the dashboard bundles this.
 */
import type { ModelPrice } from './model-config';

/** List prices, US dollars per million tokens (checked 2026; a town overrides what differs for it). */
export const DEFAULT_MODEL_PRICES: Readonly<Record<string, ModelPrice>> = {
  'claude-opus-4-5': { inputPerMTok: 5, outputPerMTok: 25, cacheReadPerMTok: 0.5, cacheWritePerMTok: 6.25 },
  'claude-opus-4': { inputPerMTok: 15, outputPerMTok: 75, cacheReadPerMTok: 1.5, cacheWritePerMTok: 18.75 },
  'claude-sonnet-4': { inputPerMTok: 3, outputPerMTok: 15, cacheReadPerMTok: 0.3, cacheWritePerMTok: 3.75 },
  'claude-3-7-sonnet': { inputPerMTok: 3, outputPerMTok: 15, cacheReadPerMTok: 0.3, cacheWritePerMTok: 3.75 },
  'claude-haiku-4-5': { inputPerMTok: 1, outputPerMTok: 5, cacheReadPerMTok: 0.1, cacheWritePerMTok: 1.25 },
  'claude-3-5-haiku': { inputPerMTok: 0.8, outputPerMTok: 4, cacheReadPerMTok: 0.08, cacheWritePerMTok: 1 },
  'gpt-5': { inputPerMTok: 1.25, outputPerMTok: 10, cacheReadPerMTok: 0.125 },
  'gpt-5-mini': { inputPerMTok: 0.25, outputPerMTok: 2, cacheReadPerMTok: 0.025 },
  'gpt-5-nano': { inputPerMTok: 0.05, outputPerMTok: 0.4, cacheReadPerMTok: 0.005 },
  'gpt-4-1': { inputPerMTok: 2, outputPerMTok: 8, cacheReadPerMTok: 0.5 },
  'gpt-4-1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6, cacheReadPerMTok: 0.1 },
  'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10, cacheReadPerMTok: 1.25 },
  'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6, cacheReadPerMTok: 0.075 },
  o3: { inputPerMTok: 2, outputPerMTok: 8, cacheReadPerMTok: 0.5 },
  'o4-mini': { inputPerMTok: 1.1, outputPerMTok: 4.4, cacheReadPerMTok: 0.275 },
};

/** Token counts of one call (or a sum). `inputTokens` excludes cache reads and writes. */
export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** `anthropic/claude-sonnet-4.5` → `claude-sonnet-4-5`: the provider prefix dropped, dots between digits as dashes. */
export function normalizeModelId(model: string): string {
  const base = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  return base.replace(/(\d)\.(\d)/g, '$1-$2');
}

function longestPrefixMatch(table: Readonly<Record<string, ModelPrice>>, normalized: string): ModelPrice | null {
  let best: { key: string; price: ModelPrice } | null = null;
  for (const [key, price] of Object.entries(table)) {
    const k = normalizeModelId(key);
    if ((normalized === k || normalized.startsWith(`${k}-`) || normalized.startsWith(`${k}:`)) && (best === null || k.length > best.key.length)) {
      best = { key: k, price };
    }
  }
  return best?.price ?? null;
}

/**
 * The price of `model`: the town's override for exactly that id, else the longest matching
 * override, else the longest matching default (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`
 * would win over `claude-sonnet-4`). Null: unknown model (its calls are counted, not priced).
 */
export function priceFor(model: string, overrides: Readonly<Record<string, ModelPrice>> = {}): ModelPrice | null {
  const exact = overrides[model];
  if (exact) return exact;
  const normalized = normalizeModelId(model);
  return longestPrefixMatch(overrides, normalized) ?? longestPrefixMatch(DEFAULT_MODEL_PRICES, normalized);
}

/** Cost in micro-dollars (1e-6 USD), rounded to a whole number. */
export function costMicros(tokens: TokenCounts, price: ModelPrice): number {
  const micros =
    tokens.inputTokens * price.inputPerMTok +
    tokens.outputTokens * price.outputPerMTok +
    tokens.cacheReadTokens * (price.cacheReadPerMTok ?? price.inputPerMTok) +
    tokens.cacheWriteTokens * (price.cacheWritePerMTok ?? price.inputPerMTok);
  return Math.round(micros);
}

/** `1234567` micro-dollars → `"$1.23"`; below a cent keeps 4 decimals (`"$0.0012"`). */
export function formatUsd(micros: number): string {
  const usd = micros / 1_000_000;
  if (usd !== 0 && Math.abs(usd) < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}
