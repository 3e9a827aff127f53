/** Encoding of a Turn as OpenAI chat-completion answers: SSE chunks or one JSON body. Pure. */
import type { ChatRequest, ToolCallSpec, Turn } from './types';

export interface EncodeContext {
  id: string;
  model: string;
  /** seconds since the epoch */
  created: number;
  /** Prefix for generated tool-call ids. */
  callIdPrefix: string;
}

type AnswerTurn = Exclude<Turn, { type: 'error' }>;

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

function argumentsJson(call: ToolCallSpec): string {
  if (typeof call.arguments === 'string') return call.arguments;
  return JSON.stringify(call.arguments ?? {});
}

function toolCallsOf(turn: AnswerTurn, ctx: EncodeContext) {
  if (turn.type !== 'tool_calls') return [];
  return turn.calls.map((call, index) => ({
    id: call.id ?? `${ctx.callIdPrefix}_${index}`,
    type: 'function' as const,
    function: { name: call.name, arguments: argumentsJson(call) },
  }));
}

function textOf(turn: AnswerTurn): string {
  return turn.type === 'text' ? turn.text : (turn.text ?? '');
}

/** Rough token count (4 characters a token), enough for usage accounting. */
export function usageOf(request: ChatRequest, turn: AnswerTurn, ctx: EncodeContext): Usage {
  const prompt = Math.max(1, Math.ceil(JSON.stringify(request.messages).length / 4));
  const completion = Math.max(1, Math.ceil((textOf(turn).length + JSON.stringify(toolCallsOf(turn, ctx)).length) / 4));
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function finishReason(turn: AnswerTurn): 'tool_calls' | 'stop' {
  return turn.type === 'tool_calls' && turn.calls.length > 0 ? 'tool_calls' : 'stop';
}

/** Split text into a few pieces so clients see real deltas. */
function pieces(text: string): string[] {
  if (text.length <= 8) return text.length ? [text] : [];
  const size = Math.ceil(text.length / 3);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** The `data:` payloads of a streamed answer, ending with `[DONE]`. */
export function streamPayloads(request: ChatRequest, turn: AnswerTurn, ctx: EncodeContext): string[] {
  const base = { id: ctx.id, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
  const out: string[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of pieces(textOf(turn))) out.push(chunk({ content: piece }));
  toolCallsOf(turn, ctx).forEach((call, index) => {
    out.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }));
    out.push(chunk({ tool_calls: [{ index, function: { arguments: call.function.arguments } }] }));
  });
  out.push(chunk({}, finishReason(turn)));
  if (request.stream_options?.include_usage) {
    out.push(JSON.stringify({ ...base, choices: [], usage: usageOf(request, turn, ctx) }));
  }
  out.push('[DONE]');
  return out;
}

/** A non-streamed answer body. */
export function completionBody(request: ChatRequest, turn: AnswerTurn, ctx: EncodeContext): Record<string, unknown> {
  const toolCalls = toolCallsOf(turn, ctx);
  const text = textOf(turn);
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text.length ? text : null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
        finish_reason: finishReason(turn),
      },
    ],
    usage: usageOf(request, turn, ctx),
  };
}

/** OpenAI-style error body. */
export function errorBody(message: string, status: number): Record<string, unknown> {
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null } };
}
