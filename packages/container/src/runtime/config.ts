/**
 * The runtime's config, passed whole through <PREFIX>_CONFIG_CONTENT so no file in the
 * agent's repository is touched. Verified keys for opencode 1.18.33 and kilo 7.7.7
 * (docs/DEVELOPMENT.md).
 *
 * The only provider is the broker's model proxy, in the wire format of the town's provider
 * kind: `@ai-sdk/anthropic` (POST {baseURL}/messages, `x-api-key`) for Anthropic, and
 * `@ai-sdk/openai-compatible` (POST {baseURL}/chat/completions, `Authorization: Bearer`) for
 * every other kind. Both SDKs are bundled in the runtime binaries: nothing is installed.
 */
import { pathToFileURL } from 'node:url';
import { BROKER_API, PROVIDER_KIND_INFO, type ModelWireFormat, type ProviderKind } from '@gastown/protocol';

/** Provider id the runtime knows the broker's LLM proxy by. */
export const PROVIDER_ID = 'gastown';
export const MODEL_LIMITS = { context: 128_000, output: 4_096 } as const;

/** The AI SDK provider package the runtime speaks each wire format with. */
export const SDK_PACKAGE: Readonly<Record<ModelWireFormat, string>> = {
  'openai-chat': '@ai-sdk/openai-compatible',
  'anthropic-messages': '@ai-sdk/anthropic',
};

export interface RuntimeConfigInput {
  brokerUrl: string;
  /** The agent's broker key: the LLM proxy authenticates the agent with it (never a provider key). */
  brokerKey: string;
  /** The town's provider kind: decides the wire format the runtime speaks to the proxy. */
  providerKind: ProviderKind;
  /** Model id at the provider, e.g. `gpt-4o-mini`. */
  model: string;
  /** Titles and summaries (often the same as `model`). */
  smallModel: string;
  pluginPath: string;
  /** Absolute paths of instruction files (the agent's briefing, the repo's AGENTS.md). */
  instructionFiles: string[];
  /** The `$schema` the runtime documents its config with. Default: opencode's. */
  schemaUrl?: string;
}

export function brokerLlmBaseUrl(brokerUrl: string): string {
  return `${brokerUrl.replace(/\/+$/, '')}${BROKER_API.llm}`;
}

function modelEntry(model: string): Record<string, unknown> {
  return { name: model, tool_call: true, limit: { ...MODEL_LIMITS } };
}

export function buildRuntimeConfig(input: RuntimeConfigInput): Record<string, unknown> {
  const models: Record<string, unknown> = { [input.model]: modelEntry(input.model) };
  models[input.smallModel] ??= modelEntry(input.smallModel);
  return {
    $schema: input.schemaUrl ?? 'https://opencode.ai/config.json',
    provider: {
      [PROVIDER_ID]: {
        npm: SDK_PACKAGE[PROVIDER_KIND_INFO[input.providerKind].wire],
        name: 'Gastown broker',
        options: { baseURL: brokerLlmBaseUrl(input.brokerUrl), apiKey: input.brokerKey },
        models,
      },
    },
    model: `${PROVIDER_ID}/${input.model}`,
    small_model: `${PROVIDER_ID}/${input.smallModel}`,
    enabled_providers: [PROVIDER_ID],
    autoupdate: false,
    share: 'disabled',
    snapshot: false,
    lsp: false,
    formatter: false,
    plugin: [pathToFileURL(input.pluginPath).href],
    instructions: input.instructionFiles,
    // Nobody answers permission prompts on a headless server: allow everything, except the
    // question tool, which would block the session waiting for a human.
    permission: { '*': 'allow', question: 'deny' },
  };
}
