/** Encoding of a Turn as Anthropic Messages answers: SSE events or one JSON body. Pure. */
import { answerParts, pieces, type AnswerCall, type AnswerTurn } from './answer-parts';
import { anthropicUsage } from './usage';
import type { TokenUsage } from './types';

export interface AnthropicEncodeContext {
  /** Message id (`msg_…`). */
  id: string;
  model: string;
  /** Prefix for generated tool-use ids (`toolu_…`). */
  callIdPrefix: string;
}

/** One server-sent event: written as `event: <event>\ndata: <json>\n\n`. */
export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

type StopReason = 'end_turn' | 'tool_use';

/** Output tokens reported in `message_start` before any content (Anthropic reports a small initial count). */
const INITIAL_OUTPUT_TOKENS = 1;

/** A tool_use block's `input`: the parsed arguments (a scripted string that is not a JSON object gives `{}`). */
function inputOf(call: AnswerCall): Record<string, unknown> {
  try {
    const value = JSON.parse(call.argumentsJson) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Content blocks: a text block (when there is text, or when the turn is a plain text answer), then the tool_use blocks. */
function contentOf(turn: AnswerTurn, ctx: AnthropicEncodeContext) {
  const { text, calls, callsTools } = answerParts(turn, ctx.callIdPrefix);
  const blocks: Array<{ type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown>; call: AnswerCall }> = [];
  if (text.length > 0 || !callsTools) blocks.push({ type: 'text', text });
  for (const call of calls) blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: inputOf(call), call });
  return { blocks, stopReason: (callsTools ? 'tool_use' : 'end_turn') as StopReason };
}

/** A non-streamed answer body. */
export function messageBody(turn: AnswerTurn, ctx: AnthropicEncodeContext, usage: TokenUsage): Record<string, unknown> {
  const { blocks, stopReason } = contentOf(turn, ctx);
  return {
    id: ctx.id,
    type: 'message',
    role: 'assistant',
    model: ctx.model,
    content: blocks.map((block) => (block.type === 'text' ? block : { type: 'tool_use', id: block.id, name: block.name, input: block.input })),
    stop_reason: stopReason,
    stop_sequence: null,
    usage: anthropicUsage(usage),
  };
}

/**
 * The events of a streamed answer, in Anthropic's order: `message_start` (input and cache usage,
 * an initial output count), `ping`, per block `content_block_start` / `content_block_delta`
 * (`text_delta`, `input_json_delta`) / `content_block_stop`, `message_delta` (stop reason and the
 * cumulative — final — output count), `message_stop`.
 */
export function streamEvents(turn: AnswerTurn, ctx: AnthropicEncodeContext, usage: TokenUsage): SseEvent[] {
  const { blocks, stopReason } = contentOf(turn, ctx);
  const events: SseEvent[] = [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: ctx.id,
          type: 'message',
          role: 'assistant',
          model: ctx.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: anthropicUsage(usage, INITIAL_OUTPUT_TOKENS),
        },
      },
    },
    { event: 'ping', data: { type: 'ping' } },
  ];
  blocks.forEach((block, index) => {
    if (block.type === 'text') {
      events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } } });
      for (const piece of pieces(block.text)) {
        events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } } });
      }
    } else {
      events.push({
        event: 'content_block_start',
        data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } },
      });
      for (const piece of pieces(block.call.argumentsJson)) {
        events.push({
          event: 'content_block_delta',
          data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } },
        });
      }
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  });
  events.push(
    {
      event: 'message_delta',
      data: { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.outputTokens } },
    },
    { event: 'message_stop', data: { type: 'message_stop' } },
  );
  return events;
}

/** `event: <type>\ndata: <json>\n\n`, exactly as Anthropic frames its stream. */
export function sseFrame({ event, data }: SseEvent): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Anthropic's error `type` for an HTTP status. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}

/** Anthropic error body `{type: 'error', error: {type, message}}`. */
export function anthropicErrorBody(message: string, status: number): Record<string, unknown> {
  return { type: 'error', error: { type: anthropicErrorType(status), message } };
}
