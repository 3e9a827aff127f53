/**
 * Scripted fake LLM: `POST /v1/chat/completions` (streamed SSE or JSON) and `GET /v1/models`
 * on 127.0.0.1, port chosen by the OS.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GastownError } from '@gastown/protocol';
import { fingerprint, isTitleRequest, toolResultsOf } from './conversation';
import { completionBody, errorBody, streamPayloads, type EncodeContext } from './encode';
import { ScriptBook } from './script-book';
import { AGENT_ID_HEADER, type ChatRequest, type FakeLlm, type FakeLlmOptions, type RecordedRequest, type Turn } from './types';

const MAX_BODY_BYTES = 20 * 1024 * 1024;
const DEFAULT_TITLE = 'Gastown session';

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new GastownError('payload_too_large', 'body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function recordedHeaders(req: IncomingMessage): { headers: Record<string, string>; authFingerprint: string | null } {
  const headers: Record<string, string> = {};
  let authFingerprint: string | null = null;
  for (const [name, value] of Object.entries(req.headers)) {
    const text = Array.isArray(value) ? value.join(', ') : (value ?? '');
    if (name === 'authorization') {
      authFingerprint = fingerprint(text);
      headers[name] = authFingerprint;
    } else {
      headers[name] = text;
    }
  }
  return { headers, authFingerprint };
}

function parseChatRequest(text: string): ChatRequest | null {
  try {
    const body = JSON.parse(text) as unknown;
    if (!body || typeof body !== 'object' || !Array.isArray((body as ChatRequest).messages)) return null;
    return body as ChatRequest;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const now = options.now ?? (() => Date.now());
  const book = new ScriptBook(options);
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  let seq = 0;

  function record(entry: RecordedRequest): void {
    requests.push(entry);
    for (const wake of [...waiters]) wake();
  }

  async function answer(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const { headers, authFingerprint } = recordedHeaders(req);
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      sendJson(res, 401, errorBody('invalid api key', 401));
      return;
    }
    const body = parseChatRequest(await readBody(req));
    if (!body) {
      sendJson(res, 400, errorBody('body must be a JSON chat-completions request', 400));
      return;
    }
    const agentHeader = req.headers[AGENT_ID_HEADER];
    const agentId = typeof agentHeader === 'string' && agentHeader.length > 0 ? agentHeader : null;
    const title = isTitleRequest(body);
    const choice = title
      ? { turn: { type: 'text', text: options.title ?? DEFAULT_TITLE } as Turn, source: 'title' as const }
      : await book.choose(agentId, body);
    const id = ++seq;
    const tools = Array.isArray(body.tools) ? body.tools : [];
    record({
      seq: id,
      at: now(),
      path,
      agentId,
      kind: title ? 'title' : 'chat',
      headers,
      authFingerprint,
      body,
      messages: body.messages,
      toolNames: tools.map((t) => t.function?.name).filter((n): n is string => typeof n === 'string'),
      tools,
      answer: choice.turn,
      source: choice.source,
    });

    const turn = choice.turn;
    if (turn.delayMs) await sleep(turn.delayMs);
    if (turn.type === 'error') {
      sendJson(res, turn.status, errorBody(turn.message, turn.status));
      return;
    }
    const ctx: EncodeContext = {
      id: `chatcmpl-fake-${id}`,
      model: options.model ?? body.model,
      created: Math.floor(now() / 1000),
      callIdPrefix: `call_${id}`,
    };
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      for (const payload of streamPayloads(body, turn, ctx)) res.write(`data: ${payload}\n\n`);
      res.end();
    } else {
      sendJson(res, 200, completionBody(body, turn, ctx));
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions')) {
      await answer(req, res, path);
      return;
    }
    if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
      sendJson(res, 200, { object: 'list', data: [{ id: options.model ?? 'fake-model', object: 'model', created: 0, owned_by: 'fake-llm' }] });
      return;
    }
    sendJson(res, 404, errorBody(`no route ${req.method} ${path}`, 404));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(error instanceof Error ? error.message : 'internal error', 500));
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
