/** The two wire formats the fake LLM speaks: how each reads a request and writes answers and errors. */
import type { ServerResponse } from 'node:http';
import { anthropicErrorBody, messageBody, sseFrame, streamEvents } from './anthropic-encode';
import { normaliseAnthropicRequest } from './anthropic-request';
import type { AnswerTurn } from './answer-parts';
import { sendEventStream, sendJson } from './http';
import { completionBody, errorBody, streamPayloads } from './openai-encode';
import type { ChatRequest, ModelWireFormat, TokenUsage } from './types';

export interface AnswerMeta {
  /** Request sequence number (makes ids unique). */
  seq: number;
  /** Model reported in the answer. */
  model: string;
  nowMs: number;
}

export interface WireCodec {
  wire: ModelWireFormat;
  /** The chat-completions view of a request body, or null when the body is not this wire's request. */
  normalise(body: Record<string, unknown>): ChatRequest | null;
  errorBody(message: string, status: number, code?: string): Record<string, unknown>;
  /** Writes a 200 answer (streamed when the request asked for it). */
  writeAnswer(res: ServerResponse, request: ChatRequest, turn: AnswerTurn, meta: AnswerMeta, usage: TokenUsage): void;
}

export const OPENAI_CHAT: WireCodec = {
  wire: 'openai-chat',
  normalise: (body) => (Array.isArray(body.messages) ? (body as ChatRequest) : null),
  errorBody: (message, status, code) => errorBody(message, status, code ?? null),
  writeAnswer(res, request, turn, meta, usage) {
    const ctx = { id: `chatcmpl-fake-${meta.seq}`, model: meta.model, created: Math.floor(meta.nowMs / 1000), callIdPrefix: `call_${meta.seq}` };
    if (request.stream)
      sendEventStream(
        res,
        streamPayloads(request, turn, ctx, usage).map((payload) => `data: ${payload}\n\n`),
      );
    else sendJson(res, 200, completionBody(turn, ctx, usage));
  },
};

export const ANTHROPIC_MESSAGES: WireCodec = {
  wire: 'anthropic-messages',
  normalise: normaliseAnthropicRequest,
  errorBody: (message, status) => anthropicErrorBody(message, status),
  writeAnswer(res, request, turn, meta, usage) {
    const ctx = { id: `msg_fake_${meta.seq}`, model: meta.model, callIdPrefix: `toolu_fake_${meta.seq}` };
    if (request.stream) sendEventStream(res, streamEvents(turn, ctx, usage).map(sseFrame));
    else sendJson(res, 200, messageBody(turn, ctx, usage));
  },
};
