/**
 * A model provider's key check in front of the fake LLM, for the container-restart e2e test: it
 * accepts the keys it is told to (a key rotation with an overlap, then the old key revoked),
 * answers any other key 401 and counts it, and forwards accepted requests to the fake LLM with the
 * fake LLM's own key. It records which accepted key each model request carried — by the name the
 * test gave it, never the key — with the agent id header and the time. Test-only.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AGENT_ID_HEADER } from '../../src/fake-llm/index';

export interface KeyUse {
  seq: number;
  at: number;
  /** The name of the key presented (as given to `accept`), or null when it was refused. */
  key: string | null;
  agentId: string | null;
  method: string;
  path: string;
}

export interface ProviderKeyGate {
  /** Base URL with `/v1`, for the town's provider `baseUrl`. */
  readonly url: string;
  /** Accepted keys from now on, by name (the test's label) → key. */
  accept(keys: Record<string, string>): void;
  /** Every request, in arrival order (live array). */
  readonly uses: readonly KeyUse[];
  /** Requests answered 401 (a key not accepted at the time). */
  unauthorized(): number;
  stop(): Promise<void>;
}

/** `upstream`: the fake LLM's base URL with `/v1`; `upstreamKey`: the key it checks. */
export async function startProviderKeyGate(options: { upstream: string; upstreamKey: string; accept: Record<string, string> }): Promise<ProviderKeyGate> {
  const upstream = new URL(options.upstream);
  let accepted = new Map(Object.entries(options.accept).map(([name, key]) => [key, name]));
  const uses: KeyUse[] = [];
  let seq = 0;

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const presented = bearer(req) ?? header(req, 'x-api-key');
    const name = presented === null ? null : (accepted.get(presented) ?? null);
    const agentId = header(req, AGENT_ID_HEADER);
    uses.push({ seq: ++seq, at: Date.now(), key: name, agentId, method: req.method ?? 'GET', path: req.url ?? '/' });
    if (name === null) {
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'invalid api key', type: 'invalid_request_error', code: 'invalid_api_key' } }));
      return;
    }
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: upstream.host };
    if (headers.authorization !== undefined) headers.authorization = `Bearer ${options.upstreamKey}`;
    if (headers['x-api-key'] !== undefined) headers['x-api-key'] = options.upstreamKey;
    const forward = httpRequest({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname.replace(/\/+$/, '')}`,
    accept(keys) {
      accepted = new Map(Object.entries(keys).map(([n, key]) => [key, n]));
    },
    uses,
    unauthorized: () => uses.filter((u) => u.key === null).length,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

function bearer(req: IncomingMessage): string | null {
  const value = header(req, 'authorization');
  return value?.startsWith('Bearer ') ? value.slice('Bearer '.length) : null;
}
