export { createUsageMeter, DEFAULT_MAX_JSON_BYTES } from './usage-meter';
export type { MeteredUsage, UsageMeter, UsageMeterOptions } from './usage-meter';
export { AnthropicStreamUsage, anthropicBodyUsage, normaliseAnthropicUsage } from './anthropic-usage';
export { OpenAiStreamUsage, normaliseOpenAiUsage, openAiBodyUsage } from './openai-usage';
export { MAX_ERROR_CODE_CHARS, providerErrorCode } from './provider-error-code';
export type { StreamUsageReader } from './stream-usage-reader';
export { ZERO_USAGE, asObject, tokenCount } from './token-usage';
export type { TokenUsage } from './token-usage';
