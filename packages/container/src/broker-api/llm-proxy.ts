/**
 * `ALL /broker/llm/v1/*`: the agent runtime's provider baseURL points here with its broker key
 * as the "API key". The request is forwarded to the town's real provider with the real key in the
 * kind's auth header (PROVIDER_KIND_INFO), plus `x-gastown-agent-id`; the response body (SSE
 * included) streams back unchanged while the model-usage meter reads it on the side, and each
 * model call (a JSON POST naming a model) is reported once through the agent's `onUsage`.
 * A run that is to stop after its turn gets 402 spend_cap_reached; a model outside the agent's
 * own gets 403 model_not_allowed. Neither reaches the provider.
 */
import { BROKER_API, GastownError, ModelIdSchema, PROVIDER_KIND_INFO, codeOf, systemClock } from '@gastown/protocol';
import type { Clock, ModelWireFormat, ProviderConfig } from '@gastown/protocol';
import type { Context } from 'hono';
import { createLogger } from '../log/logger';
import type { Logger } from '../log/logger';
import { ZERO_USAGE, createUsageMeter } from '../model-usage';
import type { UsageMeter } from '../model-usage';
import type { RegisteredAgent } from './agent-keys';
import type { BrokerEnv } from './auth';
import { readErrorBody } from './error-body';
import type { ProviderErrorBody } from './error-body';
import { errorResponse } from './errors';
import { meteredBody } from './metered-body';
import { ModelCallMeter } from './model-call-meter';
import { readModelRequest } from './model-request';
import type { ModelRequest } from './model-request';

export const AGENT_ID_HEADER = 'x-gastown-agent-id';
export const ANTHROPIC_VERSION_HEADER = 'anthropic-version';
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/** Never forwarded upstream: hop-by-hop headers, the broker key (either header), and anything fetch sets itself. */
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

export interface LlmProxyOptions {
  /** Request arrival and body end, for each call's latency. Default: the system clock. */
  clock?: Clock;
  logger?: Logger;
}

export function upstreamUrl(baseUrl: string, requestUrl: string): string {
  const url = new URL(requestUrl);
  const rest = url.pathname.slice(BROKER_API.llm.length);
  return `${baseUrl.replace(/\/+$/, '')}${rest.startsWith('/') || rest === '' ? rest : `/${rest}`}${url.search}`;
}

/** The headers sent upstream: the client's, minus DROP_REQUEST_HEADERS, plus the real key in the kind's auth header. */
function upstreamHeaders(incoming: Headers, agent: RegisteredAgent, provider: ProviderConfig): Headers {
  const headers = new Headers();
  incoming.forEach((value, name) => {
    if (!DROP_REQUEST_HEADERS.has(name.toLowerCase())) headers.set(name, value);
  });
  if (PROVIDER_KIND_INFO[provider.kind].auth === 'x-api-key') {
    if (agent.providerApiKey) headers.set('x-api-key', agent.providerApiKey);
    if (!headers.has(ANTHROPIC_VERSION_HEADER)) headers.set(ANTHROPIC_VERSION_HEADER, DEFAULT_ANTHROPIC_VERSION);
  } else if (agent.providerApiKey) {
    headers.set('authorization', `Bearer ${agent.providerApiKey}`);
  }
  headers.set('accept-encoding', 'identity');
  headers.set(AGENT_ID_HEADER, agent.agentId);
  return headers;
}

function responseHeaders(upstream: Response): Headers {
  const headers = new Headers();
  upstream.headers.forEach((value, name) => {
    if (!DROP_RESPONSE_HEADERS.has(name.toLowerCase())) headers.set(name, value);
  });
  return headers;
}

/** 403 model_not_allowed unless the agent may name `model` (an agent without a list may name any). */
function checkModel(agent: RegisteredAgent, request: ModelRequest): void {
  const allowed = agent.models ?? [];
  if (allowed.length === 0 || (request.model !== null && allowed.includes(request.model))) return;
  const named = request.model === null ? 'a request without a model' : `model ${JSON.stringify(request.model.slice(0, 200))}`;
  throw new GastownError('model_not_allowed', `${named} is not one of this agent's models`);
}

/** Whether the response body is a server-sent event stream (by its type; by the request when untyped). */
function isEventStream(upstream: Response, requested: boolean): boolean {
  const type = upstream.headers.get('content-type');
  return type === null ? requested : type.toLowerCase().includes('text/event-stream');
}

export function createLlmProxyHandler(fetchImpl: typeof fetch, options: LlmProxyOptions = {}) {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? createLogger({ stream: { write: () => undefined } });

  return async function proxyLlmRequest(c: Context<BrokerEnv>): Promise<Response> {
    const startedAt = clock.now();
    const agent = c.get('agent');
    const provider = agent.provider;
    if (provider === null) throw new GastownError('upstream_failed', 'no model provider is configured for this town');
    if (agent.refuseModelCalls?.() === true) return refuse(c, agent, log);

    const wire = PROVIDER_KIND_INFO[provider.kind].wire;
    const request = await readModelRequest(c.req.raw, wire);
    if (request !== null) checkModel(agent, request);
    const meter =
      request !== null && request.model !== null && ModelIdSchema.safeParse(request.model).success
        ? new ModelCallMeter({ agent, model: request.model, providerKind: provider.kind, streamed: request.stream, clock, startedAt, logger: log })
        : null;

    const method = c.req.method;
    const body = request !== null ? request.body : method !== 'GET' && method !== 'HEAD' ? c.req.raw.body : null;
    let upstream: Response;
    try {
      upstream = await fetchImpl(upstreamUrl(provider.baseUrl, c.req.url), {
        method,
        headers: upstreamHeaders(c.req.raw.headers, agent, provider),
        ...(body !== null ? { body, duplex: 'half' } : {}),
        signal: c.req.raw.signal,
      } as RequestInit);
    } catch (err) {
      meter?.report(0, ZERO_USAGE, c.req.raw.signal.aborted ? 'aborted' : 'unreachable');
      throw new GastownError('upstream_failed', 'model provider unreachable', { cause: err });
    }
    const init = { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders(upstream) };
    if (meter === null) return new Response(upstream.body, init);
    return upstream.ok ? meterSuccess(upstream, init, meter, wire, request?.stream === true) : meterFailure(upstream, init, meter, wire);
  };
}

interface ProxiedResponseInit {
  status: number;
  statusText: string;
  headers: Headers;
}

/** `body` passed through to the client; the call is reported when it ends, fails or is cancelled. */
function measuredBody(body: ReadableStream<Uint8Array>, usage: UsageMeter, meter: ModelCallMeter, status: number): ReadableStream<Uint8Array> {
  return meteredBody(body, {
    chunk: (chunk) => usage.push(chunk),
    end: () => {
      const measured = usage.finish();
      meter.report(status, measured.usage, measured.errorCode);
    },
  });
}

/** A 2xx answer: streamed back as it comes; measured when its body ends. */
function meterSuccess(upstream: Response, init: ProxiedResponseInit, meter: ModelCallMeter, wire: ModelWireFormat, streamRequested: boolean): Response {
  const usage = createUsageMeter({ wire, sse: isEventStream(upstream, streamRequested) });
  if (upstream.body === null) {
    const measured = usage.finish();
    meter.report(upstream.status, measured.usage, measured.errorCode);
    return new Response(null, init);
  }
  return new Response(measuredBody(upstream.body, usage, meter, upstream.status), init);
}

/** A non-2xx answer: its (small) error body is read for the provider's code, then returned unchanged. */
async function meterFailure(upstream: Response, init: ProxiedResponseInit, meter: ModelCallMeter, wire: ModelWireFormat): Promise<Response> {
  const usage = createUsageMeter({ wire, sse: false });
  let read: ProviderErrorBody;
  try {
    read = await readErrorBody(upstream.body);
  } catch (err) {
    meter.report(upstream.status, ZERO_USAGE, null);
    throw new GastownError('upstream_failed', 'model provider answer broke off', { cause: err });
  }
  if (read.complete) {
    usage.push(read.bytes);
    const measured = usage.finish();
    meter.report(upstream.status, measured.usage, measured.errorCode);
    return new Response(read.bytes, init);
  }
  return new Response(measuredBody(read.stream, usage, meter, upstream.status), init);
}

/** 402 spend_cap_reached without calling the provider; then the run is told (the supervisor stops it). */
function refuse(c: Context<BrokerEnv>, agent: RegisteredAgent, log: Logger): Response {
  const response = errorResponse(c, new GastownError('spend_cap_reached', 'the town’s spend cap is reached: this run stops after its turn'));
  try {
    agent.onModelCallRefused?.();
  } catch (err) {
    log.warn('llm_proxy.refusal_callback_failed', { agentId: agent.agentId, code: codeOf(err) });
  }
  return response;
}
