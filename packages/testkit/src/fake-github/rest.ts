/**
 * The REST subset of the fake GitHub under `/api/v3` (GitHub Enterprise Server's base path):
 * installation tokens (app JWT verified with the app's public key), repository lookup, and pull
 * requests create / get / merge / close. Answers and error bodies are shaped like GitHub's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultBoard } from './faults';
import { githubError, readBody, restToken, sendJson } from './http';
import { pullJson, type PullOutcome, type PullStore } from './pulls';
import type { RepoStore } from './repos';
import { fingerprint, type CredentialStore, type Decision } from './tokens';
import type { ApiRequestRecord, AuthOutcome, Clock, FakeRepo, FaultKind, PermissionLevel, Permissions } from './types';

export const API_PREFIX = '/api/v3';
const MAX_JSON_BYTES = 1024 * 1024;
const DEFAULT_SLOW_MS = 2_000;

export interface RestDeps {
  credentials: CredentialStore;
  repos: RepoStore;
  pulls: PullStore;
  faults: FaultBoard;
  clock: Clock;
  tokenLifetimeSeconds(): number;
  apiBaseUrl(): string;
  record(entry: ApiRequestRecord): void;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  deps: RestDeps;
  entry: ApiRequestRecord;
  /** Send JSON and record the request with what was decided. */
  answer(status: number, body: unknown, meta?: { outcome?: AuthOutcome; reason?: string | null; fault?: FaultKind | null }): void;
}

type Handler = (ctx: Ctx) => Promise<void>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The JSON body, `{}` when empty; undefined when it does not parse. */
async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const text = (await readBody(req, MAX_JSON_BYTES)).toString('utf8');
  if (text.trim() === '') return {};
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isPermissions(value: unknown): value is Permissions {
  return !!value && typeof value === 'object' && Object.values(value).every((v) => v === 'read' || v === 'write');
}

async function createAccessToken(ctx: Ctx): Promise<void> {
  const { deps, req } = ctx;
  const slow = deps.faults.take(['slow']);
  if (slow) await sleep(slow.delayMs ?? DEFAULT_SLOW_MS);
  const fault = deps.faults.take(['refuse_tokens', 'token_401', 'token_5xx']);
  if (fault?.kind === 'refuse_tokens') {
    if (fault.refuseWith === 'reset') {
      ctx.entry.status = 0;
      Object.assign(ctx.entry, { authOutcome: 'refused', reason: 'fault', fault: fault.kind });
      deps.record(ctx.entry);
      req.socket.destroy();
      return;
    }
    ctx.answer(503, githubError('Service Unavailable'), { outcome: 'refused', reason: 'fault', fault: fault.kind });
    return;
  }
  if (fault?.kind === 'token_401') {
    ctx.answer(401, githubError('A JSON web token could not be decoded'), { outcome: 'refused', reason: 'fault', fault: fault.kind });
    return;
  }
  if (fault?.kind === 'token_5xx') {
    ctx.answer(fault.status ?? 500, githubError('Server Error'), { outcome: 'refused', reason: 'fault', fault: fault.kind });
    return;
  }

  const jwt = await deps.credentials.verifyAppJwt(req.headers.authorization);
  if (!jwt.ok) {
    ctx.answer(401, githubError(jwt.message), { outcome: jwt.reason === 'missing' ? 'missing' : 'bad_jwt', reason: jwt.reason });
    return;
  }
  const body = await jsonBody(req);
  if (!body) {
    ctx.answer(400, githubError('Problems parsing JSON'), { outcome: 'ok', reason: 'bad_json' });
    return;
  }
  const { repositories, permissions } = body;
  const repositoriesOk = repositories === undefined || (Array.isArray(repositories) && repositories.every((r) => typeof r === 'string'));
  if (!repositoriesOk || (permissions !== undefined && !isPermissions(permissions))) {
    ctx.answer(422, githubError('Invalid request.'), { outcome: 'ok', reason: 'invalid_body' });
    return;
  }
  const issued = deps.credentials.issueInstallationToken(
    jwt.appId,
    ctx.params[0]!,
    { repositories: repositories as string[] | undefined, permissions: permissions as Permissions | undefined },
    deps.tokenLifetimeSeconds(),
    deps.repos.exists,
  );
  if (!issued.ok) {
    ctx.answer(issued.status, githubError(issued.message), { outcome: issued.status === 404 ? 'no_access' : 'ok', reason: issued.reason });
    return;
  }
  const repos = issued.repos.map((full) => {
    const [owner, name] = full.split('/') as [string, string];
    const repo = deps.repos.get(owner, name);
    return { id: repo.id, name: repo.name, full_name: repo.fullName, private: true };
  });
  ctx.answer(
    201,
    {
      token: issued.token,
      expires_at: new Date(issued.expiresAt).toISOString(),
      permissions: issued.permissions,
      repository_selection: 'selected',
      repositories: repos,
    },
    { outcome: 'ok' },
  );
}

/**
 * Token authentication for `/repos/:owner/:repo/…`: the repository when the token may do `need`
 * on it, else the answer is sent (401 bad/expired token, 404 no access, 403 missing permission).
 */
function authorizeRepo(ctx: Ctx, needs: Array<{ permission: string; level: PermissionLevel }>): { repo: FakeRepo; token: string } | null {
  const [owner, name] = ctx.params as [string, string];
  const token = restToken(ctx.req.headers.authorization);
  if (token === null) {
    ctx.answer(401, githubError('Requires authentication'), { outcome: 'missing' });
    return null;
  }
  ctx.entry.tokenFingerprint = fingerprint(token);
  if (ctx.deps.faults.take(['api_401'])) {
    ctx.answer(401, githubError('Bad credentials'), { outcome: 'refused', reason: 'fault', fault: 'api_401' });
    return null;
  }
  let decision: Decision = { outcome: 'ok', reason: null };
  for (const need of needs) {
    decision = ctx.deps.credentials.check(token, null, `${owner}/${name}`, need);
    if (decision.outcome !== 'ok') break;
  }
  const repo = ctx.deps.repos.find(owner, name);
  if (decision.outcome === 'ok' && !repo) decision = { outcome: 'no_access', reason: 'no_repository' };
  if (decision.outcome === 'ok' && repo) return { repo, token };
  if (decision.outcome === 'no_access') {
    const forbidden = decision.reason === 'permission';
    ctx.answer(forbidden ? 403 : 404, githubError(forbidden ? 'Resource not accessible by integration' : 'Not Found'), {
      outcome: 'no_access',
      reason: decision.reason,
    });
  } else {
    ctx.answer(401, githubError('Bad credentials'), { outcome: decision.outcome, reason: decision.reason });
  }
  return null;
}

const READ_METADATA = [{ permission: 'metadata', level: 'read' as const }];
const READ_PULLS = [{ permission: 'pull_requests', level: 'read' as const }];
const WRITE_PULLS = [{ permission: 'pull_requests', level: 'write' as const }];
const MERGE_PULLS = [...WRITE_PULLS, { permission: 'contents', level: 'write' as const }];

async function getRepo(ctx: Ctx): Promise<void> {
  const allowed = authorizeRepo(ctx, READ_METADATA);
  if (!allowed) return;
  const { repo, token } = allowed;
  ctx.answer(200, {
    id: repo.id,
    name: repo.name,
    full_name: repo.fullName,
    owner: { login: repo.owner },
    private: true,
    visibility: 'private',
    default_branch: repo.defaultBranch,
    html_url: `${ctx.deps.apiBaseUrl().replace(/\/api\/v3$/, '')}/${repo.fullName}`,
    clone_url: repo.cloneUrl,
    permissions: ctx.deps.credentials.repoPermissions(token),
  });
}

function answerPull(ctx: Ctx, repo: FakeRepo, outcome: PullOutcome, okStatus: number): void {
  if (outcome.ok) ctx.answer(okStatus, pullJson(outcome.pull, repo, ctx.deps.apiBaseUrl()));
  else ctx.answer(outcome.status, githubError(outcome.message), { outcome: 'ok', reason: outcome.message });
}

async function createPull(ctx: Ctx): Promise<void> {
  const allowed = authorizeRepo(ctx, WRITE_PULLS);
  if (!allowed) return;
  const body = await jsonBody(ctx.req);
  if (!body) return ctx.answer(400, githubError('Problems parsing JSON'), { reason: 'bad_json' });
  answerPull(ctx, allowed.repo, await ctx.deps.pulls.create(allowed.repo, body), 201);
}

function pullNumber(ctx: Ctx): number | null {
  const n = Number(ctx.params[2]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

async function getPull(ctx: Ctx): Promise<void> {
  const allowed = authorizeRepo(ctx, READ_PULLS);
  if (!allowed) return;
  const number = pullNumber(ctx);
  const pull = number === null ? undefined : await ctx.deps.pulls.read(allowed.repo, number);
  if (!pull) return ctx.answer(404, githubError('Not Found'), { reason: 'no_pull' });
  ctx.answer(200, pullJson(pull, allowed.repo, ctx.deps.apiBaseUrl()));
}

async function mergePull(ctx: Ctx): Promise<void> {
  const allowed = authorizeRepo(ctx, MERGE_PULLS);
  if (!allowed) return;
  const body = await jsonBody(ctx.req);
  if (!body) return ctx.answer(400, githubError('Problems parsing JSON'), { reason: 'bad_json' });
  const number = pullNumber(ctx) ?? 0;
  const outcome = await ctx.deps.pulls.merge(allowed.repo, number, {
    sha: typeof body.sha === 'string' ? body.sha : undefined,
    commitTitle: typeof body.commit_title === 'string' ? body.commit_title : undefined,
  });
  if (!outcome.ok) return answerPull(ctx, allowed.repo, outcome, 200);
  ctx.answer(200, { sha: outcome.pull.mergeCommitSha, merged: true, message: 'Pull Request successfully merged' });
}

async function updatePull(ctx: Ctx): Promise<void> {
  const allowed = authorizeRepo(ctx, WRITE_PULLS);
  if (!allowed) return;
  const body = await jsonBody(ctx.req);
  if (!body) return ctx.answer(400, githubError('Problems parsing JSON'), { reason: 'bad_json' });
  const number = pullNumber(ctx) ?? 0;
  if (body.state === 'closed') return answerPull(ctx, allowed.repo, await ctx.deps.pulls.close(allowed.repo, number), 200);
  if (body.state !== undefined && body.state !== 'open') return ctx.answer(422, githubError('Validation Failed'), { reason: 'bad_state' });
  const pull = await ctx.deps.pulls.read(allowed.repo, number);
  if (!pull) return ctx.answer(404, githubError('Not Found'), { reason: 'no_pull' });
  ctx.answer(200, pullJson(pull, allowed.repo, ctx.deps.apiBaseUrl()));
}

const SEGMENT = '([^/]+)';
const ROUTES: Array<{ method: string; path: RegExp; handler: Handler }> = [
  { method: 'POST', path: /^\/app\/installations\/(\d+)\/access_tokens$/, handler: createAccessToken },
  { method: 'GET', path: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}$`), handler: getRepo },
  { method: 'POST', path: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}/pulls$`), handler: createPull },
  { method: 'GET', path: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}/pulls/(\\d+)$`), handler: getPull },
  { method: 'PATCH', path: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}/pulls/(\\d+)$`), handler: updatePull },
  { method: 'PUT', path: new RegExp(`^/repos/${SEGMENT}/${SEGMENT}/pulls/(\\d+)/merge$`), handler: mergePull },
];

export async function serveRest(req: IncomingMessage, res: ServerResponse, url: URL, deps: RestDeps): Promise<void> {
  const entry: ApiRequestRecord = {
    at: deps.clock.now(),
    method: req.method ?? 'GET',
    path: url.pathname,
    status: 0,
    authOutcome: 'none',
    reason: null,
    fault: null,
    tokenFingerprint: null,
  };
  const ctx: Ctx = {
    req,
    res,
    params: [],
    deps,
    entry,
    answer(status, body, meta = {}) {
      entry.status = status;
      entry.authOutcome = meta.outcome ?? (entry.authOutcome === 'none' ? 'ok' : entry.authOutcome);
      entry.reason = meta.reason ?? null;
      entry.fault = meta.fault ?? null;
      deps.record(entry);
      sendJson(res, status, body);
    },
  };
  const path = url.pathname.slice(API_PREFIX.length).replace(/\/+$/, '');
  for (const route of ROUTES) {
    const match = route.path.exec(path);
    if (!match || route.method !== req.method) continue;
    ctx.params = match.slice(1).map((p) => decodeURIComponent(p));
    await route.handler(ctx);
    return;
  }
  ctx.answer(404, githubError('Not Found'), { outcome: 'none', reason: 'no_route' });
}
