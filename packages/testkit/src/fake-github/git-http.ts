/**
 * Git smart HTTP for the fake GitHub: authenticate like GitHub (Basic `x-access-token:<token>`,
 * or any user name with a PAT), then run `git http-backend` as a CGI program and stream its
 * answer. Only the smart protocol is served (`info/refs?service=…`, `git-upload-pack`,
 * `git-receive-pack`); every request is recorded without its credentials.
 */
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { codeOf } from '@gastown/protocol';
import type { FaultBoard } from './faults';
import { basicCredentials, readBody } from './http';
import { gitEnv, type RepoStore } from './repos';
import { fingerprint, type CredentialStore, type Decision } from './tokens';
import type { Clock, GitRequestRecord, GitService } from './types';

const GIT_PATH = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;
const SERVICES: ReadonlySet<string> = new Set(['git-upload-pack', 'git-receive-pack']);
const MAX_REQUEST_BYTES = 256 * 1024 * 1024;

export interface GitHttpDeps {
  repos: RepoStore;
  credentials: CredentialStore;
  faults: FaultBoard;
  clock: Clock;
  record(entry: GitRequestRecord): void;
}

/** True when the path is one the git side answers (the REST side gets everything else). */
export function isGitPath(pathname: string): boolean {
  return GIT_PATH.test(pathname);
}

function refuse(res: ServerResponse, status: number, text: string): void {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (status === 401) headers['www-authenticate'] = 'Basic realm="GitHub"';
  res.writeHead(status, headers);
  res.end(`${text}\n`);
}

/** The HTTP status GitHub answers for a refused git request. */
function refusalStatus(decision: Decision): number {
  if (decision.outcome === 'no_access') return decision.reason === 'permission' ? 403 : 404;
  return 401;
}

export async function serveGit(req: IncomingMessage, res: ServerResponse, url: URL, deps: GitHttpDeps): Promise<void> {
  const match = GIT_PATH.exec(url.pathname)!;
  const [, owner, name, tail] = match as unknown as [string, string, string, string];
  const at = deps.clock.now();
  const service = tail === 'info/refs' ? url.searchParams.get('service') : tail;
  const phase: GitRequestRecord['phase'] = tail === 'info/refs' ? 'advertise' : 'rpc';
  const credentials = basicCredentials(req.headers.authorization);
  const entry: GitRequestRecord = {
    at,
    repo: `${owner}/${name}`,
    service: service && SERVICES.has(service) ? (service as GitService) : null,
    phase,
    status: 0,
    authOutcome: 'missing',
    tokenFingerprint: credentials ? fingerprint(credentials.password) : null,
    gzipped: /gzip/i.test(String(req.headers['content-encoding'] ?? '')),
  };
  const finish = (status: number) => {
    entry.status = status;
    deps.record(entry);
  };

  const method = req.method ?? 'GET';
  if (!entry.service || (phase === 'advertise' && method !== 'GET') || (phase === 'rpc' && method !== 'POST')) {
    entry.authOutcome = 'none';
    refuse(res, 403, 'only the smart HTTP protocol is served');
    finish(403);
    return;
  }

  const write = entry.service === 'git-receive-pack';
  let decision: Decision;
  if (!credentials) decision = { outcome: 'missing', reason: null };
  else if (deps.faults.take(['git_401'])) decision = { outcome: 'refused', reason: 'fault' };
  else
    decision = deps.credentials.check(credentials.password, credentials.username, `${owner}/${name}`, {
      permission: 'contents',
      level: write ? 'write' : 'read',
    });
  const repo = deps.repos.find(owner, name);
  if (decision.outcome === 'ok' && !repo) decision = { outcome: 'no_access', reason: 'no_repository' };
  entry.authOutcome = decision.outcome;
  if (decision.outcome !== 'ok' || !repo) {
    const status = refusalStatus(decision);
    refuse(
      res,
      status,
      status === 403 ? `Permission to ${owner}/${name}.git denied.` : status === 404 ? 'Repository not found.' : 'Invalid username or token.',
    );
    finish(status);
    return;
  }

  let body: Buffer;
  try {
    body = phase === 'rpc' ? await readBody(req, MAX_REQUEST_BYTES) : Buffer.alloc(0);
  } catch (err) {
    const status = codeOf(err, 'bad_json') === 'payload_too_large' ? 413 : 400;
    refuse(res, status, 'bad request body');
    finish(status);
    return;
  }

  const env: NodeJS.ProcessEnv = gitEnv(deps.repos.homeDir, {
    GIT_PROJECT_ROOT: deps.repos.rootDir,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
    PATH_INFO: `/${repo.owner}/${repo.name}.git/${tail}`,
    REQUEST_METHOD: method,
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REMOTE_USER: credentials!.username,
    REMOTE_ADDR: '127.0.0.1',
  });
  if (phase === 'rpc') {
    env.CONTENT_TYPE = String(req.headers['content-type'] ?? '');
    env.CONTENT_LENGTH = String(body.length);
  }
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.HTTP_GIT_PROTOCOL = protocol;
  finish(await runBackend(env, body, res));
}

/** Run `git http-backend`, turn its CGI headers into the HTTP answer and stream the body. Resolves with the status sent. */
function runBackend(env: NodeJS.ProcessEnv, body: Buffer, res: ServerResponse): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let head = Buffer.alloc(0);
    let status = 0;
    res.on('close', () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    child.stdin.on('error', () => {});
    child.stdin.end(body);
    child.stdout.on('data', (chunk: Buffer) => {
      if (status !== 0) {
        if (!res.write(chunk)) {
          child.stdout.pause();
          res.once('drain', () => child.stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? { at: crlf, size: 4 } : lf >= 0 ? { at: lf, size: 2 } : null;
      if (!end) return;
      const headers: Record<string, string> = {};
      status = 200;
      for (const line of head.subarray(0, end.at).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const key = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
        else headers[key] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end.at + end.size));
    });
    child.on('error', () => {
      if (status === 0 && !res.headersSent) refuse(res, 500, 'git http-backend failed to start');
      resolve(500);
    });
    child.on('close', () => {
      if (status === 0) {
        status = 502;
        if (!res.headersSent) refuse(res, 502, 'git http-backend answered nothing');
      } else {
        res.end();
      }
      resolve(status);
    });
  });
}
