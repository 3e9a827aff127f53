/** A model call's tokens in the normalised form of ModelUsageRecord (docs: issue 14 "Wire formats"). */
export interface TokenUsage {
  /** Tokens read without cache. */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export const ZERO_USAGE: Readonly<TokenUsage> = Object.freeze({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });

/** The largest count a usage record holds (ModelUsageRecordSchema). */
const MAX_TOKENS = 1_000_000_000;

/** A provider's token count as a whole number in [0, 1e9]; anything that is not a finite number counts 0. */
export function tokenCount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return 0;
  return Math.min(Math.floor(value), MAX_TOKENS);
}

/** `value` as a plain object, or null (arrays and primitives are not). */
export function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** JSON text parsed, or undefined when it is not JSON. Never throws. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
