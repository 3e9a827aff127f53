/**
 * The one authenticated client from the container to the control plane, bound to one
 * agent's broker. Every consumer (tool calls, heartbeats, events, completion, merge
 * callbacks) goes through it; none of them ever sees a token.
 *
 * Per call: token = broker.accessToken(); on 401 token_expired/token_revoked →
 * broker.handleUnauthorized(token) (single-flight, only if still current) → one retry.
 * JSON calls and the session snapshot's bytes go through the same request path.
 */
import {
  AGENT_API,
  CompletionResponseSchema,
  CredentialError,
  EventBatchResponseSchema,
  GastownError,
  GitTokenResponseSchema,
  HeartbeatResponseSchema,
  MergeResultResponseSchema,
  REFRESHABLE_CODES,
  SESSION_SNAPSHOT_CONTENT_TYPE,
  SESSION_SNAPSHOT_LIMITS,
  SESSION_SNAPSHOT_META_HEADER,
  SESSION_SNAPSHOT_SHA256_HEADER,
  SessionSnapshotMetaSchema,
  SessionSnapshotRecordSchema,
  Sha256HexSchema,
  TOOLS,
  codeOf,
  parseErrorBody,
  routePath,
} from '@gastown/protocol';
import type {
  AgentEvent,
  AgentIdentity,
  CompletionRequest,
  ErrorCode,
  GitTokenGrant,
  HeartbeatRequest,
  HeartbeatResponse,
  MergeResultRequest,
  SessionSnapshotMeta,
  SessionSnapshotRecord,
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
  /** Store the agent's session snapshot (mayor); resolves with what the control plane recorded. */
  putSession(snapshot: StoredSnapshot): Promise<SessionSnapshotRecord>;
  /** The agent's stored session snapshot, or null when it has none. A copy the store found corrupt throws `snapshot_corrupt`. */
  getSession(): Promise<StoredSnapshot | null>;
  /**
   * A fresh git token for the agent's rig (polecat or refinery of a private rig), for the
   * container's git credential broker only: never handed to the agent.
   */
  gitToken(rigId: string): Promise<GitTokenGrant>;
}

/** A session snapshot on the wire: the gzip bytes, their SHA-256 (hex) and the meta sent beside them. */
export interface StoredSnapshot {
  bytes: Uint8Array;
  sha256: string;
  meta: SessionSnapshotMeta;
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

/** One request: its method, headers beyond auth, and body (sent again as is on the retry). */
interface Outgoing {
  method: 'GET' | 'POST' | 'PUT';
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export function createControlPlaneClient(options: ControlPlaneClientOptions): ControlPlaneClient {
  const { broker, agent, fetch: fetchImpl } = options;
  const base = options.controlPlaneUrl.replace(/\/+$/, '');
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const log = options.logger.child({ component: 'control-plane-client', agentId: agent.id });

  function url(route: Route, extra: Record<string, string> = {}): string {
    return base + routePath(AGENT_API[route], { townId: agent.townId, agentId: agent.id, ...extra });
  }

  async function send(target: string, token: string, outgoing: Outgoing): Promise<Response> {
    try {
      return await fetchImpl(target, {
        method: outgoing.method,
        headers: { authorization: `Bearer ${token}`, ...outgoing.headers },
        ...(outgoing.body === undefined ? {} : { body: outgoing.body }),
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

  /**
   * The one request path: authenticated, with the one reactive retry. Resolves with an ok
   * response whose body is still unread; any other answer throws its typed error.
   */
  async function request(route: Route, outgoing: Outgoing, extra?: Record<string, string>): Promise<Response> {
    const target = url(route, extra);
    const token = await broker.accessToken();
    let response = await send(target, token, outgoing);
    /** The error body, once read (a 401's is read to decide on the retry). */
    let payload: { read: unknown } | null = null;
    if (response.status === 401) {
      payload = { read: await readJson(response) };
      const code = parseErrorBody(payload.read)?.error.code;
      if (code !== undefined && REFRESHABLE_CODES.has(code)) {
        log.warn('control_plane.unauthorized', { route, code, action: 'refresh and retry once' });
        await broker.handleUnauthorized(token);
        const retryToken = await broker.accessToken();
        response = await send(target, retryToken, outgoing);
        payload = null;
      }
    }
    if (!response.ok) {
      const error = parseErrorBody(payload ? payload.read : await readJson(response));
      const code: ErrorCode = error?.error.code ?? (response.status >= 500 || response.status === 429 ? 'control_plane_unavailable' : 'upstream_failed');
      throw errorFor(code, error?.error.message ?? `control plane answered ${response.status}`);
    }
    return response;
  }

  /** POST `body` to `route` as JSON; validate the response with `schema`. */
  async function call<S extends z.ZodType>(route: Route, body: unknown, schema: S, extra?: Record<string, string>): Promise<z.infer<S>> {
    const response = await request(
      route,
      { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) },
      extra,
    );
    return parseResponse(route, schema, response);
  }

  /** The ok response's JSON body, validated with `schema`. */
  async function parseResponse<S extends z.ZodType>(route: Route, schema: S, response: Response): Promise<z.infer<S>> {
    const parsed = schema.safeParse(await readJson(response));
    if (!parsed.success) {
      log.warn('control_plane.bad_response', { route, status: response.status });
      throw new GastownError('upstream_failed', `control plane sent an unexpected ${route} response`);
    }
    return parsed.data;
  }

  async function putSession(snapshot: StoredSnapshot): Promise<SessionSnapshotRecord> {
    if (snapshot.bytes.byteLength > SESSION_SNAPSHOT_LIMITS.maxBytes) {
      throw new GastownError('payload_too_large', `the session snapshot is ${snapshot.bytes.byteLength} bytes, over ${SESSION_SNAPSHOT_LIMITS.maxBytes}`);
    }
    const response = await request('session', {
      method: 'PUT',
      headers: {
        'content-type': SESSION_SNAPSHOT_CONTENT_TYPE,
        accept: 'application/json',
        [SESSION_SNAPSHOT_SHA256_HEADER]: snapshot.sha256,
        [SESSION_SNAPSHOT_META_HEADER]: JSON.stringify(snapshot.meta),
      },
      body: snapshot.bytes,
    });
    return parseResponse('session', SessionSnapshotRecordSchema, response);
  }

  async function getSession(): Promise<StoredSnapshot | null> {
    let response: Response;
    try {
      response = await request('session', { method: 'GET', headers: { accept: `${SESSION_SNAPSHOT_CONTENT_TYPE}, application/json` } });
    } catch (error) {
      if (codeOf(error, 'internal') === 'not_found') return null;
      throw error;
    }
    const sha256 = Sha256HexSchema.safeParse(response.headers.get(SESSION_SNAPSHOT_SHA256_HEADER));
    const meta = SessionSnapshotMetaSchema.safeParse(parseJsonHeader(response.headers.get(SESSION_SNAPSHOT_META_HEADER)));
    if (!sha256.success || !meta.success) {
      await response.body?.cancel().catch(() => undefined);
      log.warn('control_plane.bad_response', { route: 'session', sha256: sha256.success, meta: meta.success });
      throw new GastownError('upstream_failed', 'control plane sent a session snapshot without a valid checksum or meta header');
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      throw new GastownError('control_plane_unavailable', 'the session snapshot download broke off', { cause: err });
    }
    return { bytes, sha256: sha256.data, meta: meta.data };
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
    putSession,
    getSession,
    async gitToken(rigId: string): Promise<GitTokenGrant> {
      const { grant } = await call('gitToken', { rigId }, GitTokenResponseSchema);
      if (grant.rigId !== rigId) throw new GastownError('upstream_failed', 'control plane sent a git token of another rig');
      return grant;
    },
  };
}

function parseJsonHeader(value: string | null): unknown {
  if (value === null) return null;
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}
