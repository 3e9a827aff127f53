/**
 * Deterministic token accounting of the fake LLM — the numbers tests compare the model proxy's
 * records against (docs: notes "Fake LLM token accounting"). Pure.
 *
 * - whole prompt = ceil(UTF-8 bytes of the request body / 4)
 * - output = ceil(UTF-8 bytes of answer text + tool names + tool-call arguments / 4) + 1
 * - anthropic-messages, when caching applies: cacheRead = floor(prompt / 3), cacheWrite = floor(prompt / 5),
 *   input = prompt − both
 * - openai-chat: cached = floor(prompt / 4) (reported in `prompt_tokens_details.cached_tokens`),
 *   input = prompt − cached
 * - error answers: all zero
 */
import { argumentsJson } from './answer-parts';
import type { ModelWireFormat, TokenUsage, Turn, UsageFilter, RecordedRequest } from './types';

export const ZERO_USAGE: Readonly<TokenUsage> = Object.freeze({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

export interface UsageInput {
  wire: ModelWireFormat;
  /** The request body exactly as received. */
  requestText: string;
  turn: Turn;
  /** Report Anthropic cache reads/writes even without `cache_control` in the body. */
  anthropicCache: boolean;
}

/** The normalised usage of one answered request: the one function both wires' answers are built from. */
export function usageOf({ wire, requestText, turn, anthropicCache }: UsageInput): TokenUsage {
  if (turn.type === 'error') return { ...ZERO_USAGE };
  const prompt = Math.ceil(bytes(requestText) / 4);
  const answerText = turn.type === 'text' ? turn.text : (turn.text ?? '');
  const callBytes = turn.type === 'tool_calls' ? turn.calls.reduce((sum, call) => sum + bytes(call.name) + bytes(argumentsJson(call)), 0) : 0;
  const outputTokens = Math.ceil((bytes(answerText) + callBytes) / 4) + 1;
  if (wire === 'openai-chat') {
    const cached = Math.floor(prompt / 4);
    return { inputTokens: prompt - cached, outputTokens, cacheReadTokens: cached, cacheWriteTokens: 0 };
  }
  if (!anthropicCache && !requestText.includes('"cache_control"')) {
    return { inputTokens: prompt, outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 };
  }
  const cacheRead = Math.floor(prompt / 3);
  const cacheWrite = Math.floor(prompt / 5);
  return { inputTokens: prompt - cacheRead - cacheWrite, outputTokens, cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite };
}

/** OpenAI `usage` object (non-stream body, or the final chunk of a stream). */
export function openaiUsage(usage: TokenUsage) {
  const prompt = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.outputTokens,
    total_tokens: prompt + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cacheReadTokens },
  };
}

/** Anthropic `usage` object of a message (non-stream body; `message_start` with an initial output count). */
export function anthropicUsage(usage: TokenUsage, outputTokens = usage.outputTokens) {
  return {
    input_tokens: usage.inputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
    cache_read_input_tokens: usage.cacheReadTokens,
    output_tokens: outputTokens,
  };
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
  };
}

export function matchesUsageFilter(request: RecordedRequest, filter: UsageFilter): boolean {
  return (
    (filter.agentId === undefined || request.agentId === filter.agentId) &&
    (filter.model === undefined || request.model === filter.model) &&
    (filter.wire === undefined || request.wire === filter.wire) &&
    (filter.kind === undefined || request.kind === filter.kind)
  );
}

/** Sum of the usage of the requests matching `filter`. */
export function totalUsageOf(requests: readonly RecordedRequest[], filter: UsageFilter = {}): TokenUsage {
  return requests.filter((r) => matchesUsageFilter(r, filter)).reduce((sum, r) => addUsage(sum, r.usage), { ...ZERO_USAGE });
}
