/**
 * Test support: a git host that speaks git's smart HTTP (`git http-backend` as CGI behind
 * node:http) and accepts only `x-access-token:<token>` Basic auth with a token it issued, not
 * revoked and not expired — the way GitHub treats installation tokens. Every request is recorded
 * with its auth verdict (never the token: a fingerprint).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export type GitAuthVerdict = 'valid' | 'missing' | 'expired' | 'revoked' | 'unknown';

export interface GitRequestRecord {
  method: string;
  path: string;
  verdict: GitAuthVerdict;
  status: number;
  at: number;
  tokenFingerprint: string | null;
}

export interface AuthGitServer {
  readonly root: string;
  readonly requests: GitRequestRecord[];
  /** `http://127.0.0.1:<port>/<owner>/<name>.git` */
  url(owner: string, name: string): string;
  /** Path of the bare repository `<owner>/<name>.git` (created by the caller with git). */
  repoPath(owner: string, name: string): string;
  /** A new token valid for `ttlMs` (null: never expires). */
  issueToken(ttlMs: number | null): { token: string; expiresAt: number | null };
  revoke(token: string): void;
  /** Tokens ever issued (for leak scans). */
  readonly issued: readonly string[];
  stop(): Promise<void>;
}

const USERNAME = 'x-access-token';
const BACKEND = '/usr/lib/git-core/git-http-backend';

export async function startAuthGitServer(options: { root: string; now?: () => number }): Promise<AuthGitServer> {
  const now = options.now ?? Date.now;
  const tokens = new Map<string, { expiresAt: number | null; revoked: boolean }>();
  const issued: string[] = [];
  const requests: GitRequestRecord[] = [];
  await mkdir(options.root, { recursive: true });

  function verdictOf(req: IncomingMessage): { verdict: GitAuthVerdict; fingerprint: string | null } {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Basic ')) return { verdict: 'missing', fingerprint: null };
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    const token = decoded.slice(colon + 1);
    const fingerprint = createHash('sha256').update(token).digest('hex').slice(0, 8);
    const record = tokens.get(token);
    if (colon < 0 || user !== USERNAME || record === undefined) return { verdict: 'unknown', fingerprint };
    if (record.revoked) return { verdict: 'revoked', fingerprint };
    if (record.expiresAt !== null && now() >= record.expiresAt) return { verdict: 'expired', fingerprint };
    return { verdict: 'valid', fingerprint };
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const { verdict, fingerprint } = verdictOf(req);
    const record: GitRequestRecord = { method: req.method ?? 'GET', path: url.pathname, verdict, status: 0, at: now(), tokenFingerprint: fingerprint };
    requests.push(record);
    if (verdict !== 'valid') {
      record.status = 401;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake git host"', 'content-type': 'text/plain' });
      res.end('Invalid username or password.\n');
      return;
    }
    const child = spawn(BACKEND, [], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: options.root,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_PROJECT_ROOT: options.root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.replace(/^\?/, ''),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: USERNAME,
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const text = head.toString('latin1');
      const crlf = text.indexOf('\r\n\r\n');
      const lf = text.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of text.slice(0, end).split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else headers[name] = value;
      }
      record.status = status;
      res.writeHead(status, headers);
      res.write(head.subarray(end));
    });
    child.stdout.on('end', () => {
      if (!headersDone) {
        record.status = 500;
        res.writeHead(500);
      }
      res.end();
    });
    child.on('error', () => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  }

  const server = createServer(handle);
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    root: options.root,
    requests,
    issued,
    url: (owner, name) => `http://127.0.0.1:${port}/${owner}/${name}.git`,
    repoPath: (owner, name) => join(options.root, owner, `${name}.git`),
    issueToken(ttlMs) {
      // opaque (no provider token shape): only the secret registry can redact it
      const token = `opaque-git-token-${randomBytes(16).toString('hex')}`;
      const expiresAt = ttlMs === null ? null : now() + ttlMs;
      tokens.set(token, { expiresAt, revoked: false });
      issued.push(token);
      return { token, expiresAt };
    },
    revoke(token) {
      const record = tokens.get(token);
      if (record) record.revoked = true;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(options.root, { recursive: true, force: true });
    },
  };
}

/** Create `<owner>/<name>.git` on the host with one commit on main, through its path (`git` runs the test's own git). */
export async function seedRepo(host: AuthGitServer, owner: string, name: string, git: (args: string[]) => Promise<string>, scratch: string): Promise<string> {
  const bare = host.repoPath(owner, name);
  await git(['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  await git(['clone', '--quiet', bare, scratch]);
  await git(['-C', scratch, 'checkout', '--quiet', '--orphan', 'main']);
  await git(['-C', scratch, 'commit', '--quiet', '--allow-empty', '-m', 'initial commit']);
  await git(['-C', scratch, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main']);
  await rm(scratch, { recursive: true, force: true });
  return bare;
}
