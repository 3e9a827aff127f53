export { startFakeLlm } from './server';
export { isTitleRequest, messageText, toolResultsOf, fingerprint } from './conversation';
export { usageOf, openaiUsage, anthropicUsage, totalUsageOf, ZERO_USAGE } from './usage';
export { normaliseAnthropicRequest } from './anthropic-request';
export { anthropicErrorType } from './anthropic-encode';
export * from './types';
import type { ToolCallSpec, Turn } from './types';

/** A turn that calls one tool. */
export function callTool(name: string, args: Record<string, unknown> = {}, id?: string): Turn {
  return { type: 'tool_calls', calls: [{ name, arguments: args, ...(id ? { id } : {}) }] };
}

/** A turn that calls several tools at once. */
export function callTools(calls: ToolCallSpec[]): Turn {
  return { type: 'tool_calls', calls };
}

/** A turn that answers with text (ends the agent's turn). */
export function reply(text: string): Turn {
  return { type: 'text', text };
}
