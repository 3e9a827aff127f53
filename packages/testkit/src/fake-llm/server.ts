/**
 * Scripted fake LLM on 127.0.0.1 (port chosen by the OS):
 * - `POST /v1/chat/completions` — OpenAI chat completions (streamed SSE or JSON), `Authorization: Bearer`;
 * - `POST /v1/messages` — Anthropic Messages (streamed SSE or JSON), `x-api-key`;
 * - `GET /v1/models` — a model list both clients accept.
 * (The same routes without `/v1` work too.) Every model request is recorded with its usage.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isTitleRequest, toolResultsOf } from './conversation';
import { parseJsonObject, readBody, sendJson } from './http';
import { modelsListBody } from './models-list';
import { presentedKey, recordedHeaders } from './request-headers';
import { ScriptBook } from './script-book';
import { AGENT_ID_HEADER, type FakeLlm, type FakeLlmOptions, type RecordedRequest, type Turn } from './types';
import { totalUsageOf, usageOf } from './usage';
import { ANTHROPIC_MESSAGES, OPENAI_CHAT, type WireCodec } from './wire-codecs';

const DEFAULT_TITLE = 'Gastown session';

const ROUTES: Record<string, WireCodec> = {
  '/v1/chat/completions': OPENAI_CHAT,
  '/chat/completions': OPENAI_CHAT,
  '/v1/messages': ANTHROPIC_MESSAGES,
  '/messages': ANTHROPIC_MESSAGES,
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const now = options.now ?? (() => Date.now());
  const anthropicCache = options.anthropicCache ?? true;
  const modelIds = options.models ?? [options.model ?? 'fake-model'];
  const book = new ScriptBook(options);
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  let seq = 0;

  function record(entry: RecordedRequest): void {
    requests.push(entry);
    for (const wake of [...waiters]) wake();
  }

  async function answer(req: IncomingMessage, res: ServerResponse, path: string, codec: WireCodec): Promise<void> {
    const { wire } = codec;
    const { headers, authFingerprint, keyFingerprint } = recordedHeaders(req, wire);
    if (options.apiKey !== undefined && presentedKey(req, wire) !== options.apiKey) {
      sendJson(res, 401, codec.errorBody('invalid api key', 401, 'invalid_api_key'));
      return;
    }
    const requestText = await readBody(req);
    const body = parseJsonObject(requestText);
    const chat = body && codec.normalise(body);
    if (!body || !chat) {
      sendJson(res, 400, codec.errorBody(`body must be a JSON ${wire} request`, 400));
      return;
    }
    const agentHeader = req.headers[AGENT_ID_HEADER];
    const agentId = typeof agentHeader === 'string' && agentHeader.length > 0 ? agentHeader : null;
    const title = isTitleRequest(chat);
    const choice = title
      ? { turn: { type: 'text', text: options.title ?? DEFAULT_TITLE } as Turn, source: 'title' as const }
      : await book.choose(agentId, chat, wire);
    const id = ++seq;
    const tools = Array.isArray(chat.tools) ? chat.tools : [];
    const turn = choice.turn;
    const usage = usageOf({ wire, requestText, turn, anthropicCache });
    record({
      seq: id,
      at: now(),
      path,
      wire,
      model: typeof chat.model === 'string' ? chat.model : '',
      agentId,
      kind: title ? 'title' : 'chat',
      headers,
      authFingerprint,
      keyFingerprint,
      body,
      chat,
      messages: chat.messages,
      toolNames: tools.map((t) => t.function?.name).filter((n): n is string => typeof n === 'string'),
      tools,
      answer: turn,
      source: choice.source,
      usage,
    });

    if (turn.delayMs) await sleep(turn.delayMs);
    if (turn.type === 'error') {
      sendJson(res, turn.status, codec.errorBody(turn.message, turn.status));
      return;
    }
    codec.writeAnswer(res, chat, turn, { seq: id, model: options.model ?? chat.model, nowMs: now() }, usage);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const codec = ROUTES[path];
    if (req.method === 'POST' && codec) {
      await answer(req, res, path, codec);
      return;
    }
    if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
      sendJson(res, 200, modelsListBody(modelIds, now()));
      return;
    }
    sendJson(res, 404, (codec ?? OPENAI_CHAT).errorBody(`no route ${req.method} ${path}`, 404));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, OPENAI_CHAT.errorBody(error instanceof Error ? error.message : 'internal error', 500));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const chatRequests = (agentId?: string | null) => requests.filter((r) => r.kind === 'chat' && (agentId === undefined || r.agentId === agentId));

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    setScript: (agentId, turns) => book.setScript(agentId, turns),
    setResponder: (fn) => book.setResponder(fn),
    remaining: (agentId) => book.remaining(agentId),
    chatRequests,
    toolResults(agentId) {
      const seen = new Map<string, ReturnType<typeof toolResultsOf>[number]>();
      for (const request of chatRequests(agentId)) {
        for (const result of toolResultsOf(request.messages)) if (!seen.has(result.toolCallId)) seen.set(result.toolCallId, result);
      }
      return [...seen.values()];
    },
    totalUsage: (filter) => totalUsageOf(requests, filter),
    waitFor(predicate, timeoutMs = 30_000) {
      if (predicate(requests)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake-llm: condition not met within ${timeoutMs} ms (${requests.length} requests recorded)`));
        }, timeoutMs);
        function check() {
          if (!predicate(requests)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        }
        waiters.add(check);
      });
    },
    stop() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
