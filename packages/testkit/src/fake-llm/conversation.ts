/** Pure readers over an OpenAI chat conversation. */
import { createHash } from 'node:crypto';
import type { ChatMessage, ChatRequest, SeenToolResult } from './types';

/** Text of a message's content (string, or the text parts of a content array). */
export function messageText(message: ChatMessage | undefined): string {
  if (!message) return '';
  const { content } = message;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part: unknown) => (part && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : '')).join('');
  }
  return '';
}

/** Every `role: 'tool'` message of a conversation, with the tool name taken from the assistant call. */
export function toolResultsOf(messages: readonly ChatMessage[]): SeenToolResult[] {
  const names = new Map<string, string>();
  const results: SeenToolResult[] = [];
  for (const message of messages) {
    if (message.role === 'assistant' && Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) names.set(call.id, call.function?.name);
    }
    if (message.role === 'tool' && typeof message.tool_call_id === 'string') {
      results.push({ toolCallId: message.tool_call_id, name: names.get(message.tool_call_id) ?? null, content: messageText(message) });
    }
  }
  return results;
}

/**
 * opencode's title generation (its `small_model` call): no tools offered and a system prompt
 * about generating a title. Such requests get a title and never consume a script turn.
 */
export function isTitleRequest(body: ChatRequest): boolean {
  if (Array.isArray(body.tools) && body.tools.length > 0) return false;
  const system = body.messages
    .filter((m) => m.role === 'system')
    .map(messageText)
    .join('\n');
  return /\btitle\b/i.test(system) && /generat/i.test(system);
}

/** `sha256:<first 8 hex>` of a secret-bearing header value; never the value itself. */
export function fingerprint(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 8)}`;
}
