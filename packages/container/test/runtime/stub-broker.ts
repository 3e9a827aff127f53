/**
 * A stand-in for the container's local broker, for runtime tests only: answers
 * `/broker/tools/:tool` with a canned result and proxies `/broker/llm/v1/*` to the fake LLM,
 * swapping the agent's broker key (`Authorization: Bearer` or, from an Anthropic client,
 * `x-api-key`) for the provider key in the same header and adding `x-gastown-agent-id`.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubToolCall {
  tool: string;
  agentId: string | null;
  authorized: boolean;
  body: unknown;
}

export interface StubBroker {
  url: string;
  toolCalls: StubToolCall[];
  /** LLM requests that reached the proxy, whether they carried a valid broker key, and in which header. */
  llmCalls: Array<{ path: string; agentId: string | null; authorized: boolean; keyHeader: 'authorization' | 'x-api-key' | null }>;
  stop(): Promise<void>;
}

export async function startStubBroker(options: {
  /** broker key → agent id */
  keys: Record<string, string>;
  llmUrl: string;
  providerKey: string;
  toolResult: (tool: string) => unknown;
}): Promise<StubBroker> {
  const toolCalls: StubToolCall[] = [];
  const llmCalls: StubBroker['llmCalls'] = [];
  const llm = new URL(options.llmUrl);

  function keyHeaderOf(req: IncomingMessage): 'authorization' | 'x-api-key' | null {
    if (req.headers.authorization?.startsWith('Bearer ')) return 'authorization';
    return typeof req.headers['x-api-key'] === 'string' ? 'x-api-key' : null;
  }

  function agentOf(req: IncomingMessage): string | null {
    const header = req.headers.authorization ?? '';
    const apiKey = req.headers['x-api-key'];
    const key = header.startsWith('Bearer ') ? header.slice(7) : typeof apiKey === 'string' ? apiKey : '';
    return options.keys[key] ?? null;
  }

  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const agentId = agentOf(req);
    const tool = /^\/broker\/tools\/([a-z_]+)$/.exec(path)?.[1];
    if (req.method === 'POST' && tool) {
      let text = '';
      for await (const chunk of req) text += chunk;
      toolCalls.push({ tool, agentId, authorized: agentId !== null, body: text ? JSON.parse(text) : null });
      const [status, body] = agentId ? [200, options.toolResult(tool)] : [401, { error: { code: 'broker_unauthorized', message: 'unknown broker key' } }];
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      return;
    }
    if (path.startsWith('/broker/llm/v1/')) {
      const keyHeader = keyHeaderOf(req);
      llmCalls.push({ path, agentId, authorized: agentId !== null, keyHeader });
      if (!agentId) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'broker_unauthorized', message: 'unknown broker key' } }));
        return;
      }
      const { authorization: _authorization, 'x-api-key': _apiKey, ...rest } = req.headers;
      const credential = keyHeader === 'x-api-key' ? { 'x-api-key': options.providerKey } : { authorization: `Bearer ${options.providerKey}` };
      const headers = { ...rest, ...credential, host: llm.host, 'x-gastown-agent-id': agentId };
      const upstream = httpRequest(
        { host: llm.hostname, port: llm.port, method: req.method, path: `${llm.pathname.replace(/\/$/, '')}/${path.slice('/broker/llm/v1/'.length)}`, headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    toolCalls,
    llmCalls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
