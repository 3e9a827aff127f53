/** Encoding of a Turn as OpenAI chat-completion answers: SSE chunks or one JSON body. Pure. */
import { answerParts, pieces, type AnswerTurn } from './answer-parts';
import { openaiUsage } from './usage';
import type { ChatRequest, TokenUsage } from './types';

export interface EncodeContext {
  id: string;
  model: string;
  /** seconds since the epoch */
  created: number;
  /** Prefix for generated tool-call ids. */
  callIdPrefix: string;
}

function toolCallsOf(turn: AnswerTurn, ctx: EncodeContext) {
  return answerParts(turn, ctx.callIdPrefix).calls.map((call) => ({
    id: call.id,
    type: 'function' as const,
    function: { name: call.name, arguments: call.argumentsJson },
  }));
}

function finishReason(turn: AnswerTurn, ctx: EncodeContext): 'tool_calls' | 'stop' {
  return answerParts(turn, ctx.callIdPrefix).callsTools ? 'tool_calls' : 'stop';
}

/**
 * The `data:` payloads of a streamed answer, ending with `[DONE]`. The usage chunk (empty
 * `choices`) comes last, only when the request asked for it with `stream_options.include_usage`.
 */
export function streamPayloads(request: ChatRequest, turn: AnswerTurn, ctx: EncodeContext, usage: TokenUsage): string[] {
  const base = { id: ctx.id, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
  const out: string[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of pieces(answerParts(turn, ctx.callIdPrefix).text)) out.push(chunk({ content: piece }));
  toolCallsOf(turn, ctx).forEach((call, index) => {
    out.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }));
    out.push(chunk({ tool_calls: [{ index, function: { arguments: call.function.arguments } }] }));
  });
  out.push(chunk({}, finishReason(turn, ctx)));
  if (request.stream_options?.include_usage) {
    out.push(JSON.stringify({ ...base, choices: [], usage: openaiUsage(usage) }));
  }
  out.push('[DONE]');
  return out;
}

/** A non-streamed answer body (always with `usage`). */
export function completionBody(turn: AnswerTurn, ctx: EncodeContext, usage: TokenUsage): Record<string, unknown> {
  const toolCalls = toolCallsOf(turn, ctx);
  const { text } = answerParts(turn, ctx.callIdPrefix);
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text.length ? text : null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
        finish_reason: finishReason(turn, ctx),
      },
    ],
    usage: openaiUsage(usage),
  };
}

/** OpenAI-style error body `{error: {message, type, code}}`. */
export function errorBody(message: string, status: number, code: string | null = null): Record<string, unknown> {
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', code } };
}
