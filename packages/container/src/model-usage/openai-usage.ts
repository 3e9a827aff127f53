/**
 * OpenAI chat completions usage: `{prompt_tokens, completion_tokens, prompt_tokens_details?: {cached_tokens}}`,
 * in a non-stream body's `usage` or in the stream's final chunk (sent when the request had
 * `stream_options.include_usage`). Normalised: input = prompt − cached, cacheRead = cached, cacheWrite = 0.
 */
import type { ServerSentEvent } from '@gastown/protocol';
import { providerErrorCode } from './provider-error-code';
import { ZERO_USAGE, asObject, parseJson, tokenCount } from './token-usage';
import type { TokenUsage } from './token-usage';
import type { StreamUsageReader } from './stream-usage-reader';

/** A `usage` object in normalised form; zeros for anything missing or malformed. */
export function normaliseOpenAiUsage(usage: unknown): TokenUsage {
  const u = asObject(usage);
  if (u === null) return { ...ZERO_USAGE };
  const prompt = tokenCount(u['prompt_tokens']);
  const cached = Math.min(tokenCount(asObject(u['prompt_tokens_details'])?.['cached_tokens']), prompt);
  return { inputTokens: prompt - cached, outputTokens: tokenCount(u['completion_tokens']), cacheReadTokens: cached, cacheWriteTokens: 0 };
}

/** A non-stream response body's usage. */
export function openAiBodyUsage(body: unknown): TokenUsage {
  return normaliseOpenAiUsage(asObject(body)?.['usage']);
}

/** Reads a streamed completion: the last chunk carrying `usage` wins; an `error` chunk gives the error code. */
export class OpenAiStreamUsage implements StreamUsageReader {
  #usage: TokenUsage = { ...ZERO_USAGE };
  #errorCode: string | null = null;

  event(event: ServerSentEvent): void {
    const data = event.data.trim();
    if (data === '' || data === '[DONE]') return;
    const chunk = asObject(parseJson(data));
    if (chunk === null) return;
    if (asObject(chunk['usage']) !== null) this.#usage = normaliseOpenAiUsage(chunk['usage']);
    this.#errorCode = providerErrorCode('openai-chat', chunk) ?? this.#errorCode;
  }

  usage(): TokenUsage {
    return { ...this.#usage };
  }

  errorCode(): string | null {
    return this.#errorCode;
  }
}
