/**
 * The runtime's config, passed whole through <PREFIX>_CONFIG_CONTENT so no file in the
 * agent's repository is touched. Verified keys for opencode 1.18.33 (docs/DEVELOPMENT.md).
 */
import { pathToFileURL } from 'node:url';
import { BROKER_API } from '@gastown/protocol';

/** Provider id the runtime knows the broker's LLM proxy by. */
export const PROVIDER_ID = 'gastown';
export const MODEL_LIMITS = { context: 128_000, output: 4_096 } as const;

export interface RuntimeConfigInput {
  brokerUrl: string;
  /** The agent's broker key: the LLM proxy authenticates the agent with it (never a provider key). */
  brokerKey: string;
  /** Model id at the provider, e.g. `gpt-4o-mini`. */
  model: string;
  pluginPath: string;
  /** Absolute paths of instruction files (the agent's briefing, the repo's AGENTS.md). */
  instructionFiles: string[];
}

export function brokerLlmBaseUrl(brokerUrl: string): string {
  return `${brokerUrl.replace(/\/+$/, '')}${BROKER_API.llm}`;
}

export function buildRuntimeConfig(input: RuntimeConfigInput): Record<string, unknown> {
  return {
    $schema: 'https://opencode.ai/config.json',
    provider: {
      [PROVIDER_ID]: {
        npm: '@ai-sdk/openai-compatible',
        name: 'Gastown broker',
        options: { baseURL: brokerLlmBaseUrl(input.brokerUrl), apiKey: input.brokerKey },
        models: { [input.model]: { name: input.model, tool_call: true, limit: { ...MODEL_LIMITS } } },
      },
    },
    model: `${PROVIDER_ID}/${input.model}`,
    small_model: `${PROVIDER_ID}/${input.model}`,
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
