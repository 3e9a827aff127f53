/**
 * Usage as the control plane reports it (`GET /api/towns/:townId/usage`) next to the fake LLM's
 * own counts (the source of truth: it computed the usage it reported in each answer), grouped the
 * same ways, so a test can ask for exact equality.
 */
import {
  costMicros,
  priceFor,
  routePath,
  USER_API,
  UsageResponseSchema,
  type Agent,
  type ModelPrice,
  type UsageGroup,
  type UsageResponse,
} from '@gastown/protocol';
import type { FakeLlm, RecordedRequest, TokenUsage } from '../../src/fake-llm/index';
import { errorCodeOf, StackHttpError, type UserApi } from '../../src/stack/index';

/** Token counts plus the number of calls and their cost. */
export interface UsageSums extends TokenUsage {
  calls: number;
  costMicros: number;
}

const ZERO: UsageSums = { calls: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costMicros: 0 };

export async function fetchUsage(api: UserApi, townId: string, by: UsageGroup = 'day'): Promise<UsageResponse> {
  const res = await api.request('GET', `${routePath(USER_API.usage, { townId })}?by=${by}`);
  if (res.status !== 200) throw new StackHttpError(`usage of ${townId}`, res.status, errorCodeOf(res.body), '');
  return UsageResponseSchema.parse(res.body);
}

/** The fake LLM's requests made by these agents (every model call of a town goes through its container's proxy, which names the agent). */
export function llmCallsOf(fakeLlm: FakeLlm, agents: readonly Agent[]): RecordedRequest[] {
  const ids = new Set(agents.map((a) => a.id));
  return fakeLlm.requests.filter((r) => r.agentId !== null && ids.has(r.agentId));
}

/** Sums of the fake LLM's usage per group key (cost: each call priced alone and rounded, as the control plane does). */
export function sumsBy(
  calls: readonly RecordedRequest[],
  keyOf: (r: RecordedRequest) => string,
  prices: Readonly<Record<string, ModelPrice>> = {},
): Map<string, UsageSums> {
  const out = new Map<string, UsageSums>();
  for (const r of calls) {
    const key = keyOf(r);
    const sum = out.get(key) ?? { ...ZERO };
    const price = priceFor(r.model, prices);
    out.set(key, {
      calls: sum.calls + 1,
      inputTokens: sum.inputTokens + r.usage.inputTokens,
      outputTokens: sum.outputTokens + r.usage.outputTokens,
      cacheReadTokens: sum.cacheReadTokens + r.usage.cacheReadTokens,
      cacheWriteTokens: sum.cacheWriteTokens + r.usage.cacheWriteTokens,
      costMicros: sum.costMicros + (price ? costMicros(r.usage, price) : 0),
    });
  }
  return out;
}

export function sumsOf(calls: readonly RecordedRequest[], prices: Readonly<Record<string, ModelPrice>> = {}): UsageSums {
  return sumsBy(calls, () => 'all', prices).get('all') ?? { ...ZERO };
}

/** The comparable part of a usage row or totals. */
export function sumsOfRow(row: {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costMicros: number;
}): UsageSums {
  return {
    calls: row.calls,
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    cacheReadTokens: row.cacheReadTokens,
    cacheWriteTokens: row.cacheWriteTokens,
    costMicros: row.costMicros,
  };
}

/** The usage response's rows as a map key → sums. */
export function rowsByKey(usage: UsageResponse): Map<string, UsageSums> {
  return new Map(usage.rows.map((r) => [r.key, sumsOfRow(r)]));
}

export function tokensOnly(s: TokenUsage): TokenUsage {
  return { inputTokens: s.inputTokens, outputTokens: s.outputTokens, cacheReadTokens: s.cacheReadTokens, cacheWriteTokens: s.cacheWriteTokens };
}

/** Sorted plain object of a map, for readable `toEqual` diffs. */
export function asObject<T>(map: ReadonlyMap<string, T>): Record<string, T> {
  return Object.fromEntries([...map.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** Whether a request was streamed (OpenAI `stream`, Anthropic `stream`: both in the body as received). */
export function isStreamed(r: RecordedRequest): boolean {
  return r.body.stream === true;
}
