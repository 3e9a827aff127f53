/**
 * Anthropic Messages usage: `{input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens}`
 * in a non-stream body's `usage`; streamed, `message_start.message.usage` gives input, cache and an
 * initial output, and each `message_delta.usage` is cumulative (its LAST `output_tokens` is the output).
 */
import type { ServerSentEvent } from '@gastown/protocol';
import { providerErrorCode } from './provider-error-code';
import { ZERO_USAGE, asObject, parseJson, tokenCount } from './token-usage';
import type { TokenUsage } from './token-usage';
import type { StreamUsageReader } from './stream-usage-reader';

/** A `usage` object in normalised form; zeros for anything missing or malformed. */
export function normaliseAnthropicUsage(usage: unknown): TokenUsage {
  const u = asObject(usage);
  if (u === null) return { ...ZERO_USAGE };
  return {
    inputTokens: tokenCount(u['input_tokens']),
    outputTokens: tokenCount(u['output_tokens']),
    cacheReadTokens: tokenCount(u['cache_read_input_tokens']),
    cacheWriteTokens: tokenCount(u['cache_creation_input_tokens']),
  };
}

/** A non-stream response body's usage. */
export function anthropicBodyUsage(body: unknown): TokenUsage {
  return normaliseAnthropicUsage(asObject(body)?.['usage']);
}

/** Which normalised field each Anthropic usage field feeds. */
const FIELDS = [
  ['input_tokens', 'inputTokens'],
  ['output_tokens', 'outputTokens'],
  ['cache_read_input_tokens', 'cacheReadTokens'],
  ['cache_creation_input_tokens', 'cacheWriteTokens'],
] as const;

/** Reads a streamed message: `message_start` sets every count, each `message_delta` overwrites the counts it names. */
export class AnthropicStreamUsage implements StreamUsageReader {
  #usage: TokenUsage = { ...ZERO_USAGE };
  #errorCode: string | null = null;

  event(event: ServerSentEvent): void {
    const data = asObject(parseJson(event.data));
    if (data === null) return;
    const type = typeof data['type'] === 'string' ? data['type'] : event.event;
    if (type === 'message_start') {
      this.#usage = normaliseAnthropicUsage(asObject(data['message'])?.['usage']);
    } else if (type === 'message_delta') {
      const usage = asObject(data['usage']);
      if (usage === null) return;
      // cumulative counts: a count the delta names replaces the one before
      for (const [wireName, name] of FIELDS) {
        if (typeof usage[wireName] === 'number') this.#usage[name] = tokenCount(usage[wireName]);
      }
    } else if (type === 'error') {
      this.#errorCode = providerErrorCode('anthropic-messages', data) ?? this.#errorCode;
    }
  }

  usage(): TokenUsage {
    return { ...this.#usage };
  }

  errorCode(): string | null {
    return this.#errorCode;
  }
}
