/**
 * The one authenticated client from the container to the control plane, bound to one
 * agent's broker. Every consumer (tool calls, heartbeats, events, completion, merge
 * callbacks) goes through it; none of them ever sees a token.
 *
 * Per call: token = broker.accessToken(); on 401 token_expired/token_revoked →
 * broker.handleUnauthorized(token) (single-flight, only if still current) → one retry.
 */
import {
  AGENT_API,
  CompletionResponseSchema,
  CredentialError,
  EventBatchResponseSchema,
  GastownError,
  HeartbeatResponseSchema,
  MergeResultResponseSchema,
  REFRESHABLE_CODES,
  TOOLS,
  parseErrorBody,
  routePath,
} from '@gastown/protocol';
import type {
  AgentEvent,
  AgentIdentity,
  CompletionRequest,
  ErrorCode,
  HeartbeatRequest,
  HeartbeatResponse,
  MergeResultRequest,
  ToolName,
} from '@gastown/protocol';
import type { z } from 'zod';
import type { Logger } from '../log/logger';
import type { CredentialBroker } from './credential-broker';

/** The one authenticated client, bound to one agent's broker. Every consumer uses it. */
export interface ControlPlaneClient {
  tool(name: ToolName, args: unknown): Promise<unknown>;
  heartbeat(body: HeartbeatRequest): Promise<HeartbeatResponse>;
  events(events: AgentEvent[]): Promise<{ accepted: number; duplicates: number }>;
  completion(body: CompletionRequest): Promise<void>;
  mergeResult(body: MergeResultRequest): Promise<void>;
}

export interface ControlPlaneClientOptions {
  broker: CredentialBroker;
  agent: AgentIdentity;
  controlPlaneUrl: string;
  fetch: typeof fetch;
  logger: Logger;
  /** Timeout of one HTTP request. Default 30 000. */
  requestTimeoutMs?: number;
}

export type ControlPlaneClientFactory = (options: ControlPlaneClientOptions) => ControlPlaneClient;

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const CREDENTIAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'token_missing',
  'token_malformed',
  'token_expired',
  'token_bad_signature',
  'token_unknown_key',
  'token_revoked',
  'token_scope',
  'refresh_invalid',
  'refresh_reused',
  'credentials_expired',
]);

/** A typed error for `code`, in the credential family when it is one. */
export function errorFor(code: ErrorCode, message: string, cause?: unknown): GastownError {
  return CREDENTIAL_CODES.has(code) ? new CredentialError(code, message, { cause }) : new GastownError(code, message, { cause });
}

type Route = keyof typeof AGENT_API;

export function createControlPlaneClient(options: ControlPlaneClientOptions): ControlPlaneClient {
  const { broker, agent, fetch: fetchImpl } = options;
  const base = options.controlPlaneUrl.replace(/\/+$/, '');
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const log = options.logger.child({ component: 'control-plane-client', agentId: agent.id });

  function url(route: Route, extra: Record<string, string> = {}): string {
    return base + routePath(AGENT_API[route], { townId: agent.townId, agentId: agent.id, ...extra });
  }

  async function send(target: string, token: string, body: unknown): Promise<Response> {
    try {
      return await fetchImpl(target, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timeout = err instanceof Error && err.name === 'TimeoutError';
      throw new GastownError('control_plane_unavailable', timeout ? 'control plane request timed out' : 'control plane unreachable', { cause: err });
    }
  }

  async function readJson(response: Response): Promise<unknown> {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }

  /** POST `body` to `route`, authenticated, with the one reactive retry; validate the response with `schema`. */
  async function call<S extends z.ZodType>(route: Route, body: unknown, schema: S, extra?: Record<string, string>): Promise<z.infer<S>> {
    const target = url(route, extra);
    const token = await broker.accessToken();
    let response = await send(target, token, body);
    let payload = await readJson(response);
    if (response.status === 401) {
      const code = parseErrorBody(payload)?.error.code;
      if (code !== undefined && REFRESHABLE_CODES.has(code)) {
        log.warn('control_plane.unauthorized', { route, code, action: 'refresh and retry once' });
        await broker.handleUnauthorized(token);
        const retryToken = await broker.accessToken();
        response = await send(target, retryToken, body);
        payload = await readJson(response);
      }
    }
    if (!response.ok) {
      const error = parseErrorBody(payload);
      const code: ErrorCode = error?.error.code ?? (response.status >= 500 || response.status === 429 ? 'control_plane_unavailable' : 'upstream_failed');
      throw errorFor(code, error?.error.message ?? `control plane answered ${response.status}`);
    }
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      log.warn('control_plane.bad_response', { route, status: response.status });
      throw new GastownError('upstream_failed', `control plane sent an unexpected ${route} response`);
    }
    return parsed.data;
  }

  return {
    async tool(name: ToolName, args: unknown): Promise<unknown> {
      const spec = TOOLS[name];
      if (spec === undefined) throw new GastownError('not_found', `unknown tool ${String(name)}`);
      return call('tool', args ?? {}, spec.result, { tool: name });
    },
    heartbeat(body: HeartbeatRequest): Promise<HeartbeatResponse> {
      return call('heartbeat', body, HeartbeatResponseSchema);
    },
    events(events: AgentEvent[]): Promise<{ accepted: number; duplicates: number }> {
      return call('events', { events }, EventBatchResponseSchema);
    },
    async completion(body: CompletionRequest): Promise<void> {
      await call('completion', body, CompletionResponseSchema);
    },
    async mergeResult(body: MergeResultRequest): Promise<void> {
      await call('mergeResult', body, MergeResultResponseSchema);
    },
  };
}
