/**
 * `ALL /broker/llm/v1/*`: the agent runtime's provider baseURL points here with its broker key
 * as the "API key". The request is forwarded to the town's real provider with the real key,
 * plus `x-gastown-agent-id`; the response body (SSE included) streams back unchanged.
 */
import { BROKER_API, GastownError } from '@gastown/protocol';
import type { Context } from 'hono';
import type { BrokerEnv } from './auth';

export const AGENT_ID_HEADER = 'x-gastown-agent-id';

/** Never forwarded upstream: hop-by-hop headers, the broker key, and anything fetch sets itself. */
const DROP_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'authorization',
  'x-api-key',
  'accept-encoding',
  AGENT_ID_HEADER,
]);
/** Never copied back: hop-by-hop, and encoding/length (fetch already decoded the body). */
const DROP_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-encoding', 'content-length', 'trailer', 'upgrade']);

export function upstreamUrl(baseUrl: string, requestUrl: string): string {
  const url = new URL(requestUrl);
  const rest = url.pathname.slice(BROKER_API.llm.length);
  return `${baseUrl.replace(/\/+$/, '')}${rest.startsWith('/') || rest === '' ? rest : `/${rest}`}${url.search}`;
}

export function createLlmProxyHandler(fetchImpl: typeof fetch) {
  return async function proxyLlmRequest(c: Context<BrokerEnv>): Promise<Response> {
    const agent = c.get('agent');
    if (agent.provider === null) throw new GastownError('upstream_failed', 'no model provider is configured for this town');
    const headers = new Headers();
    c.req.raw.headers.forEach((value, name) => {
      if (!DROP_REQUEST_HEADERS.has(name.toLowerCase())) headers.set(name, value);
    });
    if (agent.providerApiKey) headers.set('authorization', `Bearer ${agent.providerApiKey}`);
    headers.set('accept-encoding', 'identity');
    headers.set(AGENT_ID_HEADER, agent.agentId);
    const method = c.req.method;
    const hasBody = method !== 'GET' && method !== 'HEAD';
    let upstream: Response;
    try {
      upstream = await fetchImpl(upstreamUrl(agent.provider.baseUrl, c.req.url), {
        method,
        headers,
        ...(hasBody ? { body: c.req.raw.body, duplex: 'half' } : {}),
        signal: c.req.raw.signal,
      } as RequestInit);
    } catch (err) {
      throw new GastownError('upstream_failed', 'model provider unreachable', { cause: err });
    }
    const responseHeaders = new Headers();
    upstream.headers.forEach((value, name) => {
      if (!DROP_RESPONSE_HEADERS.has(name.toLowerCase())) responseHeaders.set(name, value);
    });
    return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
  };
}
