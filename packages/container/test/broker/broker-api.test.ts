import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GastownError } from '@gastown/protocol';
import type { ProviderConfig, ToolName } from '@gastown/protocol';
import type { ControlPlaneClient } from '../../src/broker';
import { createBrokerApi, startBrokerServer } from '../../src/broker-api';
import type { BrokerServer } from '../../src/broker-api';
import { SecretRegistry } from '../../src/log';
import { AGENT, captureLogger } from './support';
import { wire } from './http-support';
import type { Wired } from './http-support';

const REAL_PROVIDER_KEY = 'sk-real-provider-key-0123456789';

class StubClient implements ControlPlaneClient {
  readonly calls: Array<{ name: ToolName; args: unknown }> = [];
  failWith: GastownError | null = null;
  async tool(name: ToolName, args: unknown): Promise<unknown> {
    this.calls.push({ name, args });
    if (this.failWith) throw this.failWith;
    return { ok: true, via: this.label };
  }
  constructor(readonly label: string) {}
  heartbeat = async () => ({ ok: true as const, gen: 1, serverTime: 0 });
  events = async () => ({ accepted: 0, duplicates: 0 });
  completion = async () => undefined;
  mergeResult = async () => undefined;
  putSession = async (): Promise<never> => {
    throw new GastownError('not_found', 'no session store in this stub');
  };
  getSession = async () => null;
  gitToken = async (): Promise<never> => {
    throw new GastownError('not_found', 'no git tokens in this stub');
  };
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startBroker(provider: ProviderConfig | null = null) {
  const secrets = new SecretRegistry();
  const log = captureLogger(secrets);
  // the providers below name PROVIDER_KEY as their apiKeyEnvVar
  const api = createBrokerApi({ logger: log.logger, fetch: globalThis.fetch, secrets, townEnv: { PROVIDER_KEY: REAL_PROVIDER_KEY } });
  const server: BrokerServer = await startBrokerServer(api);
  cleanups.push(() => server.close());
  const a = new StubClient('a');
  const b = new StubClient('b');
  const keyA = api.registerAgent('ag_agentaaaa', { client: a, provider });
  const keyB = api.registerAgent('ag_agentbbbb', { client: b, provider });
  return { api, server, a, b, keyA, keyB, secrets, log };
}

function callTool(server: BrokerServer, key: string | null, tool: string, body: string) {
  return fetch(`${server.url}/broker/tools/${tool}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body,
  });
}

describe('broker API: tools', () => {
  it('listens on loopback with a random port', async () => {
    const s = await startBroker();
    expect(s.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.server.port).toBeGreaterThan(0);
  });

  it('routes a valid call to the calling agent’s own client with parsed args (defaults applied)', async () => {
    const s = await startBroker();
    const res = await callTool(s.server, s.keyB, 'mail_send', JSON.stringify({ to: 'mayor', subject: 'hi' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, via: 'b' });
    expect(s.a.calls).toHaveLength(0);
    expect(s.b.calls).toEqual([{ name: 'mail_send', args: { to: 'mayor', subject: 'hi', body: '' } }]);
  });

  it.each([
    { name: 'no key', key: () => null },
    { name: 'unknown key', key: () => 'gtb_not-a-real-key-000000000000000000000000' },
    { name: 'a key with one byte changed', key: (k: string) => `${k.slice(0, -1)}${k.endsWith('A') ? 'B' : 'A'}` },
  ])('$name → 401 broker_unauthorized and no handler runs', async ({ key }) => {
    const s = await startBroker();
    const res = await callTool(s.server, key(s.keyA), 'status', JSON.stringify({ text: 'x' }));
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe('broker_unauthorized');
    expect(s.a.calls.length + s.b.calls.length).toBe(0);
  });

  it.each([
    { name: 'bad args', tool: 'status', body: JSON.stringify({ text: '' }), status: 400, code: 'validation_failed' },
    { name: 'extra args', tool: 'list_rigs', body: JSON.stringify({ sneaky: 1 }), status: 400, code: 'validation_failed' },
    { name: 'bad JSON', tool: 'status', body: '{nope', status: 400, code: 'bad_json' },
    { name: 'unknown tool', tool: 'rm_rf', body: '{}', status: 404, code: 'not_found' },
    { name: 'oversized body', tool: 'status', body: JSON.stringify({ text: 'x'.repeat(300_000) }), status: 413, code: 'payload_too_large' },
  ])('$name → $status $code, typed, and the control plane is not called', async ({ tool, body, status, code }) => {
    const s = await startBroker();
    const res = await callTool(s.server, s.keyA, tool, body);
    expect(res.status).toBe(status);
    const error = await errorOf(res);
    expect(error.code).toBe(code);
    expect(typeof error.message).toBe('string');
    expect(s.a.calls).toHaveLength(0);
  });

  it.each([
    { code: 'credentials_expired' as const, status: 401 },
    { code: 'control_plane_unavailable' as const, status: 503 },
    { code: 'role_forbidden' as const, status: 403 },
  ])('a client failure $code is passed on typed with status $status', async ({ code, status }) => {
    const s = await startBroker();
    s.a.failWith = new GastownError(code, 'nope');
    const res = await callTool(s.server, s.keyA, 'status', JSON.stringify({ text: 'x' }));
    expect(res.status).toBe(status);
    expect((await errorOf(res)).code).toBe(code);
  });

  it('an unregistered agent’s key stops working; re-registering issues a new key', async () => {
    const s = await startBroker();
    expect(s.api.unregisterAgent('ag_agentaaaa')).toBe(true);
    expect((await callTool(s.server, s.keyA, 'status', JSON.stringify({ text: 'x' }))).status).toBe(401);
    const again = s.api.registerAgent('ag_agentbbbb', { client: s.b, provider: null });
    expect(again).not.toBe(s.keyB);
    expect((await callTool(s.server, s.keyB, 'status', JSON.stringify({ text: 'x' }))).status).toBe(401);
    expect((await callTool(s.server, again, 'status', JSON.stringify({ text: 'x' }))).status).toBe(200);
  });

  it('broker keys are registered as secrets (redacted from logs)', async () => {
    const s = await startBroker();
    expect(s.keyA).toMatch(/^gtb_[A-Za-z0-9_-]{43}$/);
    expect(s.secrets.has(s.keyA)).toBe(true);
    s.log.logger.info(`oops ${s.keyA}`);
    expect(s.log.text()).not.toContain(s.keyA);
  });
});

describe('broker API: end to end with the real client and the fake control plane', () => {
  let w: Wired | null = null;
  afterEach(async () => {
    await w?.stop();
    w = null;
  });

  it('a tool call from the agent reaches the control plane with the agent’s live token; the agent never saw it', async () => {
    w = await wire();
    const api = createBrokerApi({ logger: w.log.logger, fetch: globalThis.fetch, secrets: w.secrets });
    const server = await startBrokerServer(api);
    cleanups.push(() => server.close());
    const key = api.registerAgent(AGENT.id, { client: w.client, provider: null });
    w.cp.failNextWith('token_expired', { route: 'tool' });
    const res = await callTool(server, key, 'prime', '{}');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { agent: { id: string } };
    expect(body.agent.id).toBe(AGENT.id);
    expect(w.cp.requestsFor('tool').map((r) => r.auth)).toEqual(['refused', 'valid']);
    // the response to the agent holds no token
    expect(JSON.stringify(body)).not.toMatch(/eyJ|gtr_/);
  });
});

describe('broker API: LLM proxy', () => {
  interface Seen {
    method: string;
    url: string;
    headers: IncomingHttpHeaders;
    body: string;
  }

  async function startProvider() {
    const seen: Seen[] = [];
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (req.url?.startsWith('/v1/models')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ data: [{ id: 'm' }] }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n');
        void finished.then(() => {
          res.write('data: {"choices":[{"delta":{"content":"lo"}}]}\n\n');
          res.end('data: [DONE]\n\n');
        });
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
    const port = (server.address() as AddressInfo).port;
    const provider: ProviderConfig = { kind: 'openai-compatible', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', apiKeyEnvVar: 'PROVIDER_KEY' };
    return { seen, finish, provider };
  }

  it('forwards to the real provider with the real key and the agent id, and streams SSE through as it comes', async () => {
    const p = await startProvider();
    const s = await startBroker(p.provider);
    // opencode asks for stream usage itself: the proxy then has nothing to add and forwards the bytes as sent
    const requestBody = JSON.stringify({ model: 'm', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    const res = await fetch(`${s.server.url}/broker/llm/v1/chat/completions?trace=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.keyA}`, 'content-type': 'application/json', 'x-session-id': 'ses_1' },
      body: requestBody,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    // the first event arrives while the provider is still holding the rest: it is streamed, not buffered
    const first = decoder.decode((await reader.read()).value);
    expect(first).toContain('"Hel"');
    p.finish();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value);
    }
    expect(rest).toContain('"lo"');
    expect(rest).toContain('[DONE]');

    expect(p.seen).toHaveLength(1);
    const seen = p.seen[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/v1/chat/completions?trace=1');
    expect(seen.body).toBe(requestBody);
    expect(seen.headers['authorization']).toBe(`Bearer ${REAL_PROVIDER_KEY}`);
    expect(seen.headers['x-gastown-agent-id']).toBe('ag_agentaaaa');
    expect(seen.headers['x-session-id']).toBe('ses_1');
    expect(JSON.stringify(seen.headers)).not.toContain(s.keyA);
  });

  it('tells agents apart by header, and GETs work too', async () => {
    const p = await startProvider();
    const s = await startBroker(p.provider);
    const res = await fetch(`${s.server.url}/broker/llm/v1/models`, { headers: { authorization: `Bearer ${s.keyB}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: [{ id: 'm' }] });
    expect(p.seen[0]!.headers['x-gastown-agent-id']).toBe('ag_agentbbbb');
  });

  it('a spoofed agent-id header from the agent is replaced by the broker’s own', async () => {
    const p = await startProvider();
    const s = await startBroker(p.provider);
    await fetch(`${s.server.url}/broker/llm/v1/models`, { headers: { authorization: `Bearer ${s.keyA}`, 'x-gastown-agent-id': 'ag_agentbbbb' } });
    expect(p.seen[0]!.headers['x-gastown-agent-id']).toBe('ag_agentaaaa');
  });

  it('a bad key → 401 and the provider never sees the request', async () => {
    const p = await startProvider();
    const s = await startBroker(p.provider);
    const res = await fetch(`${s.server.url}/broker/llm/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-anything' }, body: '{}' });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).code).toBe('broker_unauthorized');
    expect(p.seen).toHaveLength(0);
  });

  it('an unreachable provider → 502 upstream_failed', async () => {
    const s = await startBroker({ kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1', model: 'm', apiKeyEnvVar: null });
    const res = await fetch(`${s.server.url}/broker/llm/v1/models`, { headers: { authorization: `Bearer ${s.keyA}` } });
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe('upstream_failed');
  });
});
