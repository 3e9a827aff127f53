/**
 * A real HTTP fake of the control plane's agent API for the container's integration tests:
 * HS256 tokens, refresh rotation, every AGENT_API route (the session snapshot kept in memory,
 * ./session-store.ts), a record of every request, and fault injection. Time comes from an
 * injected clock (plus an optional skew).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import {
  AGENT_API,
  CompletionRequestSchema,
  ERROR_STATUS,
  EventBatchRequestSchema,
  HeartbeatRequestSchema,
  LIMITS,
  MergeResultRequestSchema,
  REFRESH_GRACE_SECONDS,
  REFRESH_IDLE_EXPIRY_SECONDS,
  SESSION_SNAPSHOT_CONTENT_TYPE,
  SESSION_SNAPSHOT_LIMITS,
  SESSION_SNAPSHOT_META_HEADER,
  SESSION_SNAPSHOT_SHA256_HEADER,
  GastownError,
  GitTokenRequestSchema,
  TOOLS,
  ToolNameSchema,
  systemClock,
} from '@gastown/protocol';
import type {
  AccessTokenGrant,
  AgentClaims,
  AgentCredentials,
  AgentEvent,
  AgentIdentity,
  Clock,
  CompletionRequest,
  ErrorCode,
  GitTokenGrant,
  HeartbeatRequest,
  MergeResultRequest,
} from '@gastown/protocol';
import { CredentialStore } from './credential-store';
import { FixtureFactory } from './fixtures';
import { SessionStore, type SessionCorruption, type StoredSession } from './session-store';
import { toolResult } from './tool-results';
import { verifyAgentToken } from './tokens';

export type FakeRoute = keyof typeof AGENT_API;

/** How the credential on a request looked when it arrived. */
export type AuthVerdict =
  | 'valid'
  | 'expired'
  | 'revoked'
  | 'invalid'
  | 'missing'
  | 'scope'
  /** refresh route only */
  | 'replay'
  | 'reused'
  /** the request was refused by fault injection before auth was looked at */
  | 'refused';

export interface RecordedRequest {
  seq: number;
  route: FakeRoute | 'unknown';
  method: string;
  path: string;
  agentId: string | null;
  tool: string | null;
  auth: AuthVerdict;
  /** First 8 hex of the SHA-256 of the presented bearer (never the bearer). */
  credentialFingerprint: string | null;
  status: number;
  code: ErrorCode | null;
  /** Control-plane clock (ms), at arrival. */
  at: number;
}

export interface FakeControlPlaneOptions {
  /** Access-token lifetime. Default 3 s. */
  tokenTtlSeconds?: number;
  /** Default: system clock. Tests pass the same ManualClock they give the broker. */
  clock?: Clock;
  /** The control plane's clock runs this far ahead of `clock` (negative: behind). */
  skewMs?: number;
  /** jose clockTolerance. Default 0 (sharp expiry, unlike production's 60 s). */
  clockToleranceSeconds?: number;
  refreshGraceSeconds?: number;
  refreshIdleExpirySeconds?: number;
  /** HS256 secret. Default: random. */
  secret?: string;
  /** Answers `POST AGENT_API.gitToken` (a private rig's git token). Default: none — the route answers 404. */
  gitTokens?: GitTokenIssuer | null;
}

/** Mints a rig's git token for the gitToken route (a test wires it to its fake git host). */
export type GitTokenIssuer = (request: { agentId: string; rigId: string }) => GitTokenGrant | Promise<GitTokenGrant>;

export interface FakeFailure {
  code: ErrorCode;
  /** Only requests to this route are failed. Default: any route except refresh. */
  route?: FakeRoute;
}

export interface FakeControlPlane {
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly heartbeats: Array<{ agentId: string; body: HeartbeatRequest; at: number }>;
  readonly events: Array<{ agentId: string; event: AgentEvent }>;
  readonly completions: Array<{ agentId: string; body: CompletionRequest }>;
  readonly mergeResults: Array<{ agentId: string; body: MergeResultRequest }>;
  readonly reuseDetected: string[];
  /** The control plane's current time (clock + skew). */
  now(): number;
  /** Register `agent` (at agent.gen) and issue a fresh credential family, as a dispatch does. */
  issueCredentials(agent: AgentIdentity): Promise<AgentCredentials>;
  /** A fresh access token in the agent's current generation (for push tests). */
  mintGrant(agentId: string): Promise<AccessTokenGrant>;
  /** Bump the agent's generation: every token it holds is revoked from now on. */
  revokeAgent(agentId: string): number;
  setTokenTtlSeconds(seconds: number): void;
  /** For `ms` of control-plane time every request is refused: socket reset, or a 503. */
  refuseAllFor(ms: number, mode?: 'reset' | '503'): void;
  /** The next matching request fails with `code` (its canonical status), once. Stackable. */
  failNextWith(code: ErrorCode, options?: { route?: FakeRoute }): void;
  /** The next refresh is carried out (the credential is spent) but its response is lost. */
  dropNextRefreshResponse(): void;
  /** The agent's stored session snapshot as the store holds it (bytes, checksum, meta, record), or null. */
  storedSession(agentId: string): StoredSession | null;
  /** Damage the agent's stored snapshot (./session-store.ts `SessionCorruption`). */
  corruptSession(agentId: string, how: SessionCorruption): void;
  /** Forget the agent's stored snapshot; false when there was none. */
  deleteSession(agentId: string): boolean;
  requestsFor(route: FakeRoute): RecordedRequest[];
  /** Who answers the gitToken route from now on (null: 404). */
  setGitTokenIssuer(issuer: GitTokenIssuer | null): void;
  stop(): Promise<void>;
}

const ROUTES: Array<{ route: FakeRoute; pattern: RegExp }> = Object.entries(AGENT_API).map(([route, template]) => ({
  route: route as FakeRoute,
  pattern: new RegExp(`^${template.replace(/:([A-Za-z]+)/g, '(?<$1>[^/]+)')}$`),
}));

function match(path: string): { route: FakeRoute; params: Record<string, string> } | null {
  for (const { route, pattern } of ROUTES) {
    const m = pattern.exec(path);
    if (m) return { route, params: Object.fromEntries(Object.entries(m.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)])) };
  }
  return null;
}

class HttpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly auth?: AuthVerdict,
  ) {
    super(message);
  }
}

function fp(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8);
}

async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError('payload_too_large', 'body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const text = (await readRaw(req, LIMITS.maxBodyBytes)).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError('bad_json', 'body is not JSON');
  }
}

/** The one header value of `name`, or undefined. */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function bearer(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  const m = /^Bearer ([^\s]+)$/.exec(header);
  return m?.[1] ?? null;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startFakeControlPlane(options: FakeControlPlaneOptions = {}): Promise<FakeControlPlane> {
  const clock = options.clock ?? systemClock;
  const skewMs = options.skewMs ?? 0;
  const now = (): number => clock.now() + skewMs;
  const tolerance = options.clockToleranceSeconds ?? 0;
  const key = new TextEncoder().encode(options.secret ?? randomBytes(32).toString('hex'));
  let ttlSeconds = options.tokenTtlSeconds ?? 3;
  let refuseUntil = -Infinity;
  let refuseMode: 'reset' | '503' = 'reset';
  const failures: FakeFailure[] = [];
  let dropRefresh = 0;
  let seq = 0;
  let gitTokens: GitTokenIssuer | null = options.gitTokens ?? null;

  const requests: RecordedRequest[] = [];
  const heartbeats: FakeControlPlane['heartbeats'] = [];
  const events: FakeControlPlane['events'] = [];
  const eventIds = new Map<string, Set<string>>();
  const completions: FakeControlPlane['completions'] = [];
  const mergeResults: FakeControlPlane['mergeResults'] = [];
  const reuseDetected: string[] = [];
  const fixtures = new FixtureFactory(now);
  const sessions = new SessionStore();
  const store = new CredentialStore({
    key,
    now,
    ttlSeconds: () => ttlSeconds,
    refreshGraceSeconds: options.refreshGraceSeconds ?? REFRESH_GRACE_SECONDS,
    refreshIdleExpirySeconds: options.refreshIdleExpirySeconds ?? REFRESH_IDLE_EXPIRY_SECONDS,
    onReuse: (agentId) => reuseDetected.push(agentId),
  });

  /** Verify the bearer access token for an agent route; throws HttpError with the auth verdict. */
  async function authenticate(req: IncomingMessage, params: Record<string, string>): Promise<AgentClaims> {
    const token = bearer(req);
    if (token === null) throw new HttpError('token_missing', 'missing bearer token', 'missing');
    const verdict = await verifyAgentToken(key, token, now(), tolerance);
    if (!verdict.ok) throw new HttpError(verdict.code, 'token rejected', verdict.code === 'token_expired' ? 'expired' : 'invalid');
    const claims = verdict.claims;
    const entry = store.agents.get(claims.sub);
    if (entry === undefined || entry.gen !== claims.gen) throw new HttpError('token_revoked', 'token generation is not current', 'revoked');
    if (claims.sub !== params['agentId'] || claims.townId !== params['townId'])
      throw new HttpError('token_scope', 'token names another agent or town', 'scope');
    return claims;
  }

  function identityOf(claims: AgentClaims): { agent: AgentIdentity; gen: number } {
    const entry = store.agents.get(claims.sub);
    if (entry === undefined) throw new HttpError('not_found', 'unknown agent');
    return { agent: entry.identity, gen: entry.gen };
  }

  function parse<T>(
    schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } },
    value: unknown,
  ): T {
    const result = schema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new HttpError('validation_failed', issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid body');
    }
    return result.data;
  }

  /** GET / PUT the agent's session snapshot (mayor only). */
  async function handleSession(req: IncomingMessage, res: ServerResponse, claims: AgentClaims): Promise<void> {
    const { agent } = identityOf(claims);
    if (claims.role !== 'mayor') throw new HttpError('role_forbidden', 'only a mayor keeps a session snapshot');
    if (req.method === 'PUT') {
      const bytes = await readRaw(req, SESSION_SNAPSHOT_LIMITS.maxBytes);
      const stored = sessions.put(
        agent.id,
        {
          contentType: header(req, 'content-type'),
          sha256: header(req, SESSION_SNAPSHOT_SHA256_HEADER),
          meta: header(req, SESSION_SNAPSHOT_META_HEADER),
          bytes,
        },
        now(),
      );
      send(res, 200, stored);
      return;
    }
    const stored = sessions.get(agent.id);
    res.writeHead(200, {
      'content-type': SESSION_SNAPSHOT_CONTENT_TYPE,
      'content-length': stored.bytes.length,
      [SESSION_SNAPSHOT_SHA256_HEADER]: stored.sha256,
      [SESSION_SNAPSHOT_META_HEADER]: JSON.stringify(stored.meta),
    });
    res.end(stored.bytes);
  }

  async function handleAgentRoute(
    route: Exclude<FakeRoute, 'refresh' | 'session'>,
    claims: AgentClaims,
    params: Record<string, string>,
    body: unknown,
  ): Promise<unknown> {
    const { agent, gen } = identityOf(claims);
    switch (route) {
      case 'heartbeat': {
        const hb = parse(HeartbeatRequestSchema, body);
        heartbeats.push({ agentId: agent.id, body: hb, at: now() });
        return { ok: true, gen, serverTime: now() };
      }
      case 'events': {
        const batch = parse(EventBatchRequestSchema, body);
        const seen = eventIds.get(agent.id) ?? new Set<string>();
        eventIds.set(agent.id, seen);
        let accepted = 0;
        let duplicates = 0;
        for (const event of batch.events) {
          if (seen.has(event.id)) duplicates += 1;
          else {
            seen.add(event.id);
            events.push({ agentId: agent.id, event });
            accepted += 1;
          }
        }
        return { accepted, duplicates };
      }
      case 'completion': {
        const completion = parse(CompletionRequestSchema, body);
        completions.push({ agentId: agent.id, body: completion });
        return { ok: true, beadStatus: completion.outcome === 'completed' ? 'in_review' : null };
      }
      case 'mergeResult': {
        const merge = parse(MergeResultRequestSchema, body);
        mergeResults.push({ agentId: agent.id, body: merge });
        const status = merge.outcome === 'merged' ? 'closed' : 'open';
        return {
          mergeRequest: { ...fixtures.bead(agent, { type: 'merge_request', status }), id: merge.mergeRequestBeadId },
          sourceBead: fixtures.bead(agent, { status: merge.outcome === 'merged' ? 'closed' : 'in_progress' }),
        };
      }
      case 'gitToken': {
        // as the control plane: a polecat or refinery, for its own rig only
        const { rigId } = parse(GitTokenRequestSchema, body);
        if (claims.role !== 'polecat' && claims.role !== 'refinery') throw new HttpError('role_forbidden', `role ${claims.role} gets no git token`);
        if (claims.rigId !== rigId) throw new HttpError('token_scope', 'the git token of another rig');
        if (gitTokens === null) throw new HttpError('not_found', 'the rig has no git credentials');
        return { grant: await gitTokens({ agentId: agent.id, rigId }) };
      }
      case 'tool': {
        const toolName = ToolNameSchema.safeParse(params['tool']);
        if (!toolName.success) throw new HttpError('not_found', 'unknown tool');
        const spec = TOOLS[toolName.data];
        if (!(spec.roles as readonly string[]).includes(claims.role))
          throw new HttpError('role_forbidden', `role ${claims.role} may not call ${toolName.data}`);
        const args = parse(spec.args as unknown as Parameters<typeof parse<Record<string, unknown>>>[0], body);
        return toolResult(toolName.data, args, agent, gen, fixtures);
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivedAt = now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const matched = match(path);
    seq += 1;
    const token = bearer(req);
    const record: RecordedRequest = {
      seq,
      route: matched?.route ?? 'unknown',
      method: req.method ?? 'GET',
      path,
      agentId: matched?.params['agentId'] ?? null,
      tool: matched?.params['tool'] ?? null,
      auth: 'missing',
      credentialFingerprint: token === null ? null : fp(token),
      status: 0,
      code: null,
      at: arrivedAt,
    };
    requests.push(record);

    if (arrivedAt < refuseUntil) {
      record.auth = 'refused';
      if (refuseMode === 'reset') {
        record.status = 0;
        req.socket.destroy();
        return;
      }
      record.status = 503;
      record.code = 'control_plane_unavailable';
      send(res, 503, { error: { code: 'control_plane_unavailable', message: 'refused by fault injection' } });
      return;
    }

    try {
      if (matched === null) throw new HttpError('not_found', 'no such route');
      const methods = matched.route === 'session' ? ['GET', 'PUT'] : ['POST'];
      if (!methods.includes(req.method ?? '')) throw new HttpError('not_found', `only ${methods.join(' and ')} served here`);
      const failureIndex = failures.findIndex((f) => (f.route === undefined ? matched.route !== 'refresh' : f.route === matched.route));
      if (failureIndex >= 0) {
        const failure = failures.splice(failureIndex, 1)[0]!;
        record.auth = 'refused';
        throw new HttpError(failure.code, 'injected failure', 'refused');
      }
      if (matched.route === 'session') {
        const claims = await authenticate(req, matched.params);
        record.auth = 'valid';
        await handleSession(req, res, claims);
        record.status = res.statusCode;
        return;
      }
      const body = await readBody(req);
      if (matched.route === 'refresh') {
        if (token === null) throw new HttpError('token_missing', 'missing refresh credential', 'missing');
        const verdict = await store.refresh(token);
        record.agentId = verdict.agentId;
        if (!verdict.ok)
          throw new HttpError(
            verdict.code,
            'refresh refused',
            verdict.code === 'refresh_reused' ? 'reused' : verdict.code === 'token_revoked' ? 'revoked' : 'invalid',
          );
        record.auth = verdict.replay ? 'replay' : 'valid';
        if (dropRefresh > 0) {
          dropRefresh -= 1;
          record.status = 0;
          req.socket.destroy();
          return;
        }
        record.status = 200;
        send(res, 200, verdict.credentials);
        return;
      }
      const claims = await authenticate(req, matched.params);
      record.auth = 'valid';
      const result = await handleAgentRoute(matched.route, claims, matched.params, body);
      record.status = 200;
      send(res, 200, result);
    } catch (err) {
      const code: ErrorCode = err instanceof HttpError || err instanceof GastownError ? err.code : 'internal';
      if (err instanceof HttpError && err.auth !== undefined) record.auth = err.auth;
      const status = ERROR_STATUS[code];
      record.status = status;
      record.code = code;
      send(res, status, { error: { code, message: err instanceof Error ? err.message : 'internal error' } });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: { code: 'internal', message: 'internal error' } });
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    heartbeats,
    events,
    completions,
    mergeResults,
    reuseDetected,
    now,
    issueCredentials: (agent) => store.issue(agent),
    mintGrant: (agentId) => store.grant(agentId),
    revokeAgent: (agentId) => store.bumpGen(agentId),
    setTokenTtlSeconds(seconds) {
      ttlSeconds = seconds;
    },
    refuseAllFor(ms, mode = 'reset') {
      refuseUntil = now() + ms;
      refuseMode = mode;
    },
    failNextWith(code, opts = {}) {
      failures.push({ code, ...(opts.route !== undefined ? { route: opts.route } : {}) });
    },
    dropNextRefreshResponse() {
      dropRefresh += 1;
    },
    storedSession: (agentId) => sessions.peek(agentId),
    corruptSession: (agentId, how) => sessions.corrupt(agentId, how),
    deleteSession: (agentId) => sessions.delete(agentId),
    requestsFor: (route) => requests.filter((r) => r.route === route),
    setGitTokenIssuer(issuer) {
      gitTokens = issuer;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
