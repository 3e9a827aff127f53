/**
 * The model proxy against a real HTTP upstream: per-kind auth, the broker key from either header,
 * the agent's models, stream usage, the usage record of each call, stop-after-turn, and secrets.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GastownError, PROVIDER_KIND_INFO } from '@gastown/protocol';
import type { ModelUsageRecord, ProviderConfig, ProviderKind, ToolName } from '@gastown/protocol';
import type { ControlPlaneClient } from '../../src/broker';
import { createBrokerApi, startBrokerServer } from '../../src/broker-api';
import type { AgentRegistration, BrokerServer } from '../../src/broker-api';
import { SecretRegistry } from '../../src/log';
import { captureLogger } from './support';

/** Not shaped like any SECRET_PATTERNS entry: only the proxy's own care keeps it out of logs. */
const REAL_KEY = 'plainproviderkey0123456789';
const T0 = 1_700_000_000_000;

class StubClient implements ControlPlaneClient {
  tool = async (_name: ToolName, _args: unknown): Promise<unknown> => ({ ok: true });
  heartbeat = async () => ({ ok: true as const, gen: 1, serverTime: 0 });
  events = async () => ({ accepted: 0, duplicates: 0 });
  completion = async () => undefined;
  mergeResult = async () => undefined;
  putSession = async (): Promise<never> => {
    throw new GastownError('not_found', 'stub');
  };
  getSession = async () => null;
  gitToken = async (): Promise<never> => {
    throw new GastownError('not_found', 'stub');
  };
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the upstream answers: chunks written in order; `hold` parks the rest until it resolves. */
interface Answer {
  status?: number;
  contentType?: string;
  chunks: string[];
  hold?: { after: number; until: Promise<void> };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let clockNow = T0;
const clock = { now: () => clockNow };

async function startUpstream(answer: (seen: Seen) => Answer, elapseMs = 250) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      clockNow += elapseMs;
      const a = answer(s);
      res.writeHead(a.status ?? 200, { 'content-type': a.contentType ?? 'application/json' });
      void (async () => {
        for (const [i, chunk] of a.chunks.entries()) {
          if (a.hold && i === a.hold.after) await a.hold.until;
          res.write(chunk);
        }
        res.end();
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { seen, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

function providerOf(kind: ProviderKind, baseUrl: string): ProviderConfig {
  return { kind, baseUrl, apiKeyEnvVar: 'PROVIDER_KEY' };
}

async function startBroker(provider: ProviderConfig, registration: Partial<AgentRegistration> = {}) {
  clockNow = T0;
  // a logger that knows no secret: a key in a line would show
  const log = captureLogger(new SecretRegistry());
  const api = createBrokerApi({ logger: log.logger, fetch: globalThis.fetch, townEnv: { PROVIDER_KEY: REAL_KEY }, clock });
  const server: BrokerServer = await startBrokerServer(api);
  cleanups.push(() => server.close());
  const records: ModelUsageRecord[] = [];
  const key = api.registerAgent('ag_agentaaaa', { client: new StubClient(), provider, onUsage: (r) => records.push(r), ...registration });
  return { api, server, key, records, log };
}

const OPENAI_STREAM = [
  'data: {"id":"c1","choices":[{"delta":{"content":"Hé"}}],"usage":null}\n\n',
  'data: {"id":"c1","choices":[{"delta":{"content":"llo ✓\\r\\n"}}],"usage":null}\r\n\r\n',
  'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":812,"completion_tokens":37,"prompt_tokens_details":{"cached_tokens":203}}}\n\n',
  'data: [DONE]\n\n',
];
const ANTHROPIC_STREAM = [
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":90,"cache_read_input_tokens":400,"cache_creation_input_tokens":30,"output_tokens":1}}}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi ✓"}}\n\n',
  'event: message_delta\ndata: {"type":"message_delta","delta":{},"usage":{"output_tokens":12}}\n\n',
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":44}}\n\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
];

function post(server: BrokerServer, path: string, headers: Record<string, string>, body: unknown) {
  return fetch(`${server.url}/broker/llm/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

const okJson = (): Answer => ({ chunks: [JSON.stringify({ id: 'c1', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } })] });

describe('LLM proxy: upstream auth per provider kind', () => {
  it.each([
    { kind: 'openai-compatible' as const, path: '/chat/completions' },
    { kind: 'openai' as const, path: '/chat/completions' },
    { kind: 'openrouter' as const, path: '/chat/completions' },
    { kind: 'kilo' as const, path: '/chat/completions' },
    { kind: 'anthropic' as const, path: '/messages' },
  ])('$kind: the real key in its kind’s header, never the broker key', async ({ kind, path }) => {
    const up = await startUpstream(okJson);
    const s = await startBroker(providerOf(kind, up.baseUrl));
    const brokerHeader: Record<string, string> = kind === 'anthropic' ? { 'x-api-key': s.key } : { authorization: `Bearer ${s.key}` };
    const res = await post(s.server, path, brokerHeader, { model: 'm', messages: [] });
    expect(res.status).toBe(200);
    const headers = up.seen[0]!.headers;
    if (PROVIDER_KIND_INFO[kind].auth === 'x-api-key') {
      expect(headers['x-api-key']).toBe(REAL_KEY);
      expect(headers['authorization']).toBeUndefined();
      expect(headers['anthropic-version']).toBe('2023-06-01');
    } else {
      expect(headers['authorization']).toBe(`Bearer ${REAL_KEY}`);
      expect(headers['x-api-key']).toBeUndefined();
      expect(headers['anthropic-version']).toBeUndefined();
    }
    expect(headers['x-gastown-agent-id']).toBe('ag_agentaaaa');
    expect(up.seen[0]!.url).toBe(`/v1${path}`);
    expect(JSON.stringify(headers)).not.toContain(s.key);
  });

  it('anthropic: the client’s anthropic-version and beta headers pass through', async () => {
    const up = await startUpstream(okJson);
    const s = await startBroker(providerOf('anthropic', up.baseUrl));
    await post(s.server, '/messages', { 'x-api-key': s.key, 'anthropic-version': '2024-01-01', 'anthropic-beta': 'prompt-caching-2024-07-31' }, { model: 'm' });
    expect(up.seen[0]!.headers['anthropic-version']).toBe('2024-01-01');
    expect(up.seen[0]!.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
  });

  it('a broker key in both headers reaches the provider in neither', async () => {
    const up = await startUpstream(okJson);
    const s = await startBroker(providerOf('openai', up.baseUrl));
    await post(s.server, '/chat/completions', { authorization: `Bearer ${s.key}`, 'x-api-key': s.key }, { model: 'm' });
    expect(up.seen[0]!.headers['authorization']).toBe(`Bearer ${REAL_KEY}`);
    expect(up.seen[0]!.headers['x-api-key']).toBeUndefined();
  });
});

describe('LLM proxy: broker key from x-api-key', () => {
  it.each([
    { name: 'x-api-key with the broker key', headers: (k: string) => ({ 'x-api-key': k }), status: 200 },
    { name: 'an unknown x-api-key', headers: () => ({ 'x-api-key': 'gtb_not-a-real-key-000000000000000000000000' }), status: 401 },
    { name: 'the provider’s own key as x-api-key', headers: () => ({ 'x-api-key': REAL_KEY }), status: 401 },
    { name: 'a wrong bearer and the right x-api-key', headers: (k: string) => ({ authorization: 'Bearer nope', 'x-api-key': k }), status: 200 },
    { name: 'the key as a non-bearer authorization', headers: (k: string) => ({ authorization: k }), status: 401 },
  ])('$name → $status', async ({ headers, status }) => {
    const up = await startUpstream(okJson);
    const s = await startBroker(providerOf('anthropic', up.baseUrl));
    const res = await post(s.server, '/messages', headers(s.key), { model: 'm' });
    expect(res.status).toBe(status);
    if (status === 401) {
      expect((await errorOf(res)).code).toBe('broker_unauthorized');
      expect(up.seen).toHaveLength(0);
    }
  });
});

describe('LLM proxy: the agent’s models', () => {
  it.each([
    { name: 'another model', body: { model: 'gpt-4o', messages: [] }, status: 403 },
    { name: 'no model', body: { messages: [] }, status: 403 },
    { name: 'a non-string model', body: { model: ['big-model'] }, status: 403 },
    { name: 'its model', body: { model: 'big-model', messages: [] }, status: 200 },
    { name: 'its small model', body: { model: 'small-model', messages: [] }, status: 200 },
  ])('$name → $status', async ({ body, status }) => {
    const up = await startUpstream(okJson);
    const s = await startBroker(providerOf('openai', up.baseUrl), { models: ['big-model', 'small-model'] });
    const res = await post(s.server, '/chat/completions', { authorization: `Bearer ${s.key}` }, body);
    expect(res.status).toBe(status);
    if (status === 403) {
      expect((await errorOf(res)).code).toBe('model_not_allowed');
      expect(up.seen).toHaveLength(0);
      expect(s.records).toHaveLength(0);
    } else {
      expect(up.seen).toHaveLength(1);
    }
  });

  it('an agent without a model list may name any model', async () => {
    const up = await startUpstream(okJson);
    const s = await startBroker(providerOf('openai', up.baseUrl), { models: [] });
    expect((await post(s.server, '/chat/completions', { authorization: `Bearer ${s.key}` }, { model: 'anything' })).status).toBe(200);
  });
});

describe('LLM proxy: stream usage is asked for', () => {
  it.each([
    {
      name: 'openai stream without stream_options',
      kind: 'openai' as const,
      body: { model: 'm', stream: true, messages: [{ role: 'user', content: 'hé' }] },
      want: { model: 'm', stream: true, messages: [{ role: 'user', content: 'hé' }], stream_options: { include_usage: true } },
    },
    {
      name: 'openai stream with include_usage false and other options',
      kind: 'openrouter' as const,
      body: { model: 'm', stream: true, stream_options: { include_usage: false, other: 1 } },
      want: { model: 'm', stream: true, stream_options: { include_usage: true, other: 1 } },
    },
  ])('$name → include_usage true, the rest intact', async ({ kind, body, want }) => {
    const up = await startUpstream(() => ({ contentType: 'text/event-stream', chunks: ['data: [DONE]\n\n'] }));
    const s = await startBroker(providerOf(kind, up.baseUrl));
    await (await post(s.server, '/chat/completions', { authorization: `Bearer ${s.key}` }, body)).text();
    expect(JSON.parse(up.seen[0]!.body)).toEqual(want);
  });

  it.each([
    { name: 'openai, not streamed', kind: 'openai' as const, path: '/chat/completions', text: '{ "model": "m",  "stream": false }' },
    {
      name: 'openai stream already asking',
      kind: 'openai' as const,
      path: '/chat/completions',
      text: '{"model":"m","stream":true,"stream_options":{"include_usage":true}}',
    },
    { name: 'anthropic stream', kind: 'anthropic' as const, path: '/messages', text: '{"model":"m", "stream":true}' },
    { name: 'not JSON at all', kind: 'openai' as const, path: '/chat/completions', text: 'model=m&stream=true' },
  ])('$name → the bytes as sent', async ({ kind, path, text }) => {
    const up = await startUpstream(okJson);
    const s = await startBroker(providerOf(kind, up.baseUrl));
    await (await post(s.server, path, { authorization: `Bearer ${s.key}` }, text)).text();
    expect(up.seen[0]!.body).toBe(text);
  });
});

describe('LLM proxy: one usage record per call', () => {
  it.each([
    {
      name: 'openai stream (cached tokens)',
      kind: 'openai' as const,
      path: '/chat/completions',
      stream: true,
      answer: { contentType: 'text/event-stream', chunks: OPENAI_STREAM },
      tokens: { inputTokens: 609, outputTokens: 37, cacheReadTokens: 203, cacheWriteTokens: 0 },
    },
    {
      name: 'openai JSON',
      kind: 'openai-compatible' as const,
      path: '/chat/completions',
      stream: false,
      answer: { chunks: ['{"id":"c1","choices":[{"message":{"content":"hi ✓"}}],', '"usage":{"prompt_tokens":50,"completion_tokens":9}}'] },
      tokens: { inputTokens: 50, outputTokens: 9, cacheReadTokens: 0, cacheWriteTokens: 0 },
    },
    {
      name: 'anthropic stream (several message_delta: the last output wins)',
      kind: 'anthropic' as const,
      path: '/messages',
      stream: true,
      answer: { contentType: 'text/event-stream', chunks: ANTHROPIC_STREAM },
      tokens: { inputTokens: 90, outputTokens: 44, cacheReadTokens: 400, cacheWriteTokens: 30 },
    },
    {
      name: 'anthropic JSON',
      kind: 'anthropic' as const,
      path: '/messages',
      stream: false,
      answer: {
        chunks: [
          '{"type":"message","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":7,"output_tokens":3,"cache_read_input_tokens":2,"cache_creation_input_tokens":1}}',
        ],
      },
      tokens: { inputTokens: 7, outputTokens: 3, cacheReadTokens: 2, cacheWriteTokens: 1 },
    },
  ])('$name: the record equals the upstream’s usage; the bytes reach the client unchanged', async ({ kind, path, stream, answer, tokens }) => {
    const up = await startUpstream(() => answer);
    const s = await startBroker(providerOf(kind, up.baseUrl));
    const brokerHeader: Record<string, string> = kind === 'anthropic' ? { 'x-api-key': s.key } : { authorization: `Bearer ${s.key}` };
    const res = await post(s.server, path, brokerHeader, { model: 'claude-x/1.5', stream, messages: [] });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(answer.chunks.join('')))).toBe(true);
    expect(s.records).toEqual([{ model: 'claude-x/1.5', providerKind: kind, ...tokens, latencyMs: 250, streamed: stream, status: 200, errorCode: null }]);
  });

  it('latency runs from the request’s arrival to the end of the body', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const up = await startUpstream(() => ({ contentType: 'text/event-stream', chunks: OPENAI_STREAM, hold: { after: 1, until: held } }), 100);
    const s = await startBroker(providerOf('openai', up.baseUrl));
    const res = await post(s.server, '/chat/completions', { authorization: `Bearer ${s.key}` }, { model: 'm', stream: true });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('Hé');
    expect(s.records).toHaveLength(0); // not before the body ends
    clockNow += 4_000;
    release();
    while (!(await reader.read()).done);
    expect(s.records.map((r) => r.latencyMs)).toEqual([4_100]);
  });

  it.each([
    {
      name: 'anthropic 401',
      kind: 'anthropic' as const,
      status: 401,
      body: '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}',
      errorCode: 'authentication_error',
    },
    {
      name: 'openai 429',
      kind: 'openai' as const,
      status: 429,
      body: '{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}',
      errorCode: 'rate_limit_exceeded',
    },
    { name: 'openai 500 with an HTML page', kind: 'openai' as const, status: 500, body: '<html>oops</html>', errorCode: null },
    {
      name: 'a long error body (streamed on, still measured)',
      kind: 'openai' as const,
      status: 400,
      body: JSON.stringify({ error: { message: 'x'.repeat(100_000), type: 'invalid_request_error', code: 'context_length_exceeded' } }),
      errorCode: 'context_length_exceeded',
    },
  ])('a provider error ($name): returned unchanged; recorded with its status and code, zero tokens', async ({ kind, status, body, errorCode }) => {
    const up = await startUpstream(() => ({ status, chunks: [body.slice(0, 10), body.slice(10)] }));
    const s = await startBroker(providerOf(kind, up.baseUrl));
    const res = await post(
      s.server,
      kind === 'anthropic' ? '/messages' : '/chat/completions',
      { authorization: `Bearer ${s.key}` },
      { model: 'm', stream: true },
    );
    expect(res.status).toBe(status);
    expect(await res.text()).toBe(body);
    expect(s.records).toEqual([
      {
        model: 'm',
        providerKind: kind,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        latencyMs: 250,
        streamed: true,
        status,
        errorCode,
      },
    ]);
  });

  it('an unreachable provider → 502 upstream_failed, recorded as status 0 "unreachable"', async () => {
    const s = await startBroker(providerOf('openai', 'http://127.0.0.1:1/v1'));
    const res = await post(s.server, '/chat/completions', { authorization: `Bearer ${s.key}` }, { model: 'm' });
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe('upstream_failed');
    expect(s.records).toEqual([
      {
        model: 'm',
        providerKind: 'openai',
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        latencyMs: 0,
        streamed: false,
        status: 0,
        errorCode: 'unreachable',
      },
    ]);
  });

  it('a client that stops reading mid-stream: exactly one record', async () => {
    const never = new Promise<void>(() => undefined);
    const up = await startUpstream(() => ({ contentType: 'text/event-stream', chunks: OPENAI_STREAM, hold: { after: 1, until: never } }));
    const s = await startBroker(providerOf('openai', up.baseUrl));
    const res = await post(s.server, '/chat/completions', { authorization: `Bearer ${s.key}` }, { model: 'm', stream: true });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await vi.waitFor(() => expect(s.records).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(s.records).toHaveLength(1);
    expect(s.records[0]).toMatchObject({ status: 200, streamed: true, outputTokens: 0 });
  });

  it.each([
    { name: 'GET /models', method: 'GET', contentType: null },
    { name: 'a non-JSON POST', method: 'POST', contentType: 'text/plain' },
  ])('$name is forwarded unchanged and not metered', async ({ method, contentType }) => {
    const up = await startUpstream(() => ({ chunks: ['{"data":[{"id":"m"}]}'] }));
    const s = await startBroker(providerOf('openai', up.baseUrl), { models: ['m'] });
    const res = await fetch(`${s.server.url}/broker/llm/v1/models`, {
      method,
      headers: { authorization: `Bearer ${s.key}`, ...(contentType ? { 'content-type': contentType } : {}) },
      ...(method === 'POST' ? { body: 'model=x' } : {}),
    });
    expect(await res.text()).toBe('{"data":[{"id":"m"}]}');
    expect(up.seen[0]!.body).toBe(method === 'POST' ? 'model=x' : '');
    expect(s.records).toHaveLength(0);
  });

  it('a throwing onUsage never breaks the response (it is logged by code)', async () => {
    const up = await startUpstream(() => ({ contentType: 'text/event-stream', chunks: OPENAI_STREAM }));
    const s = await startBroker(providerOf('openai', up.baseUrl), {
      onUsage: () => {
        throw new GastownError('internal', 'sink broke');
      },
    });
    const res = await post(s.server, '/chat/completions', { authorization: `Bearer ${s.key}` }, { model: 'm', stream: true });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(OPENAI_STREAM.join(''));
    expect(s.log.text()).toContain('llm_proxy.usage_callback_failed');
  });
});

describe('LLM proxy: stop after turn', () => {
  it('a run to stop gets 402 spend_cap_reached; the provider is not called; the run is told', async () => {
    const up = await startUpstream(okJson);
    let stopping = false;
    const refused: number[] = [];
    const s = await startBroker(providerOf('anthropic', up.baseUrl), { refuseModelCalls: () => stopping, onModelCallRefused: () => refused.push(clockNow) });
    expect((await post(s.server, '/messages', { 'x-api-key': s.key }, { model: 'm' })).status).toBe(200);
    stopping = true;
    const res = await post(s.server, '/messages', { 'x-api-key': s.key }, { model: 'm', stream: true });
    expect(res.status).toBe(402);
    expect((await errorOf(res)).code).toBe('spend_cap_reached');
    expect(up.seen).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(s.records).toHaveLength(1); // only the call that reached the provider
  });

  it('a throwing onModelCallRefused still answers 402', async () => {
    const up = await startUpstream(okJson);
    const s = await startBroker(providerOf('openai', up.baseUrl), {
      refuseModelCalls: () => true,
      onModelCallRefused: () => {
        throw new GastownError('internal', 'supervisor broke');
      },
    });
    const res = await post(s.server, '/chat/completions', { authorization: `Bearer ${s.key}` }, { model: 'm' });
    expect(res.status).toBe(402);
    expect(up.seen).toHaveLength(0);
  });
});

describe('LLM proxy: the provider key stays in the broker', () => {
  it('no response and no log line holds it, whatever the outcome', async () => {
    const up = await startUpstream((seen) =>
      seen.url.includes('fail')
        ? { status: 401, chunks: ['{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'] }
        : { contentType: 'text/event-stream', chunks: ANTHROPIC_STREAM },
    );
    const s = await startBroker(providerOf('anthropic', up.baseUrl), { models: ['m'] });
    const bodies: string[] = [];
    const headers: string[] = [];
    const calls = [
      post(s.server, '/messages', { 'x-api-key': s.key }, { model: 'm', stream: true }),
      post(s.server, '/messages?fail=1', { 'x-api-key': s.key }, { model: 'm' }),
      post(s.server, '/messages', { 'x-api-key': s.key }, { model: 'other' }),
      post(s.server, '/messages', { 'x-api-key': 'wrong' }, { model: 'm' }),
    ];
    for (const res of await Promise.all(calls)) {
      bodies.push(await res.text());
      headers.push(JSON.stringify([...res.headers]));
    }
    const unreachable = await startBroker(providerOf('anthropic', 'http://127.0.0.1:1/v1'));
    const res = await post(unreachable.server, '/messages', { 'x-api-key': unreachable.key }, { model: 'm' });
    bodies.push(await res.text());
    expect(up.seen.map((x) => x.headers['x-api-key'])).toEqual([REAL_KEY, REAL_KEY]);
    expect(s.log.lines.length + unreachable.log.lines.length).toBeGreaterThan(0);
    for (const text of [...bodies, ...headers, s.log.text(), unreachable.log.text()]) expect(text).not.toContain(REAL_KEY);
  });
});
