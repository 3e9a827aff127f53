/**
 * Normalisation of an Anthropic Messages request into the chat-completions shape the script
 * book, responders and recorders read. Pure.
 *
 * - `system` (string or text blocks) → one `role: 'system'` message per block
 * - user text/image blocks → one user message (a string when it is a single text block)
 * - `tool_result` blocks → `role: 'tool'` messages (`tool_call_id`, text content), before the user's other blocks
 * - assistant `tool_use` blocks → `tool_calls` with JSON-string arguments; its text blocks → `content`
 * - tools `{name, description, input_schema}` → `{type: 'function', function: {name, description, parameters}}`
 */
import type { ChatMessage, ChatRequest, ChatTool } from './types';

type Block = Record<string, unknown> & { type?: unknown };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function blocksOf(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter(isObject) : [];
}

function blockText(block: Block): string {
  return block.type === 'text' && typeof block.text === 'string' ? block.text : '';
}

/** Text of a tool_result's `content` (a string, or blocks whose text parts are joined). */
function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  return blocksOf(content).map(blockText).join('');
}

function systemMessages(system: unknown): ChatMessage[] {
  if (typeof system === 'string') return system.length ? [{ role: 'system', content: system }] : [];
  return blocksOf(system)
    .map(blockText)
    .filter((text) => text.length > 0)
    .map((text) => ({ role: 'system', content: text }));
}

/** OpenAI content of the non-tool-result blocks of a user message: a string for one text block. */
function userContent(blocks: Block[]): unknown {
  if (blocks.length === 1 && blocks[0]!.type === 'text') return blockText(blocks[0]!);
  return blocks.map((block) => (block.type === 'text' ? { type: 'text', text: blockText(block) } : block));
}

function userMessages(content: unknown): ChatMessage[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const blocks = blocksOf(content);
  const out: ChatMessage[] = blocks
    .filter((block) => block.type === 'tool_result')
    .map((block) => ({
      role: 'tool',
      tool_call_id: typeof block.tool_use_id === 'string' ? block.tool_use_id : '',
      content: toolResultText(block.content),
    }));
  const rest = blocks.filter((block) => block.type !== 'tool_result');
  if (rest.length > 0) out.push({ role: 'user', content: userContent(rest) });
  return out;
}

function assistantMessage(content: unknown): ChatMessage {
  if (typeof content === 'string') return { role: 'assistant', content };
  const blocks = blocksOf(content);
  const text = blocks.map(blockText).join('');
  const toolCalls = blocks
    .filter((block) => block.type === 'tool_use')
    .map((block) => ({
      id: typeof block.id === 'string' ? block.id : '',
      type: 'function',
      function: { name: typeof block.name === 'string' ? block.name : '', arguments: JSON.stringify(block.input ?? {}) },
    }));
  return { role: 'assistant', content: text.length ? text : null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) };
}

function chatTool(tool: Record<string, unknown>): ChatTool {
  return {
    type: 'function',
    function: {
      name: typeof tool.name === 'string' ? tool.name : '',
      ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
      parameters: tool.input_schema,
    },
  };
}

/** The chat-completions view of an Anthropic Messages body, or null when it is not one. */
export function normaliseAnthropicRequest(body: Record<string, unknown>): ChatRequest | null {
  if (!Array.isArray(body.messages)) return null;
  const messages: ChatMessage[] = systemMessages(body.system);
  for (const message of body.messages) {
    if (!isObject(message)) return null;
    if (message.role === 'assistant') messages.push(assistantMessage(message.content));
    else if (message.role === 'user') messages.push(...userMessages(message.content));
    else return null;
  }
  return {
    model: typeof body.model === 'string' ? body.model : '',
    messages,
    ...(Array.isArray(body.tools) ? { tools: body.tools.filter(isObject).map(chatTool) } : {}),
    stream: body.stream === true,
    ...(typeof body.max_tokens === 'number' ? { max_tokens: body.max_tokens } : {}),
  };
}
