// No imports: safe for the dashboard bundle, which must not pull zod in (model-config.ts adds the zod schemas).
/**
 * The model provider kinds a town can use and what each one defaults to: its wire format, base
 * URL, the town env var its key is read from, how the key is sent, and where it lists models.
 */
export const PROVIDER_KINDS = ['openai-compatible', 'anthropic', 'openai', 'openrouter', 'kilo'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** The two wire formats the model proxy speaks: OpenAI chat completions and Anthropic Messages. */
export type ModelWireFormat = 'openai-chat' | 'anthropic-messages';

export interface ProviderKindInfo {
  wire: ModelWireFormat;
  /** Null: the base URL must be given (openai-compatible). */
  defaultBaseUrl: string | null;
  /** The town env var the key is read from when `apiKeyEnvVar` is not given. */
  defaultApiKeyEnvVar: string | null;
  /** How the key is sent upstream. */
  auth: 'bearer' | 'x-api-key';
  /** Where the provider lists its models (relative to the base URL), or null. */
  modelsPath: string | null;
}

export const PROVIDER_KIND_INFO: Readonly<Record<ProviderKind, ProviderKindInfo>> = {
  'openai-compatible': { wire: 'openai-chat', defaultBaseUrl: null, defaultApiKeyEnvVar: null, auth: 'bearer', modelsPath: '/models' },
  anthropic: {
    wire: 'anthropic-messages',
    defaultBaseUrl: 'https://api.anthropic.com/v1',
    defaultApiKeyEnvVar: 'ANTHROPIC_API_KEY',
    auth: 'x-api-key',
    modelsPath: '/models',
  },
  openai: { wire: 'openai-chat', defaultBaseUrl: 'https://api.openai.com/v1', defaultApiKeyEnvVar: 'OPENAI_API_KEY', auth: 'bearer', modelsPath: '/models' },
  openrouter: {
    wire: 'openai-chat',
    defaultBaseUrl: 'https://openrouter.ai/api/v1',
    defaultApiKeyEnvVar: 'OPENROUTER_API_KEY',
    auth: 'bearer',
    modelsPath: '/models',
  },
  kilo: {
    wire: 'openai-chat',
    defaultBaseUrl: 'https://api.kilo.ai/api/openrouter',
    defaultApiKeyEnvVar: 'KILOCODE_TOKEN',
    auth: 'bearer',
    modelsPath: '/models',
  },
};
