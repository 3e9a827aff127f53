/**
 * A GitHub REST subset as a `fetch` function, for worker tests (they run inside workerd and cannot
 * start the Node fake of packages/testkit): app JWTs verified against the app's public key,
 * installation tokens with a settable lifetime, PATs, repository lookup, pull requests
 * create/get/list, and a human's merge or close. Every request is recorded (with the credential it
 * carried, so tests can check what was presented). Install it in a town with `installTownSeams`.
 */
import { jwtVerify } from 'jose';
import type { FetchFn } from '../../src/git-host';
import { makeRsaKey } from './rsa-keys';
import { exampleComGitDiscovery } from './town-seams';

export const FAKE_API = 'http://127.0.0.1:9801/api/v3';
export const FAKE_GIT = 'http://127.0.0.1:9801';

export interface FakeRequest {
  method: string;
  path: string;
  authorization: string | null;
  body: any;
  status: number;
}

export interface FakePull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  headSha: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergeCommitSha: string | null;
}

interface Installation {
  appId: string;
  repos: Set<string>;
  permissions: Record<string, string>;
}

export class FakeGitHost {
  readonly requests: FakeRequest[] = [];
  readonly pulls: FakePull[] = [];
  readonly installations = new Map<string, Installation>();
  readonly pats = new Map<string, { repos: Set<string>; push: boolean }>();
  readonly tokens = new Map<string, { repos: Set<string>; expiresAt: number }>();
  tokenLifetimeMs = 3_600_000;
  /** Answer the next N token requests with this status. */
  tokenFailures: { status: number; times: number } | null = null;
  /** Answer every pull request creation with this status. */
  pullCreateStatus: number | null = null;
  private counter = 0;

  constructor(
    readonly appId: string,
    readonly privateKeyPem: string,
    private readonly publicKey: CryptoKey,
    readonly api = FAKE_API,
  ) {}

  static async create(): Promise<FakeGitHost> {
    const key = await makeRsaKey();
    return new FakeGitHost('4242', key.pkcs1Pem, key.publicKey);
  }

  /** An installation of the app on these repositories (full names); returns its id. */
  install(repos: string[], permissions: Record<string, string> = { contents: 'write', pull_requests: 'write', metadata: 'read' }): string {
    const id = String(1000 + this.installations.size);
    this.installations.set(id, { appId: this.appId, repos: new Set(repos), permissions });
    return id;
  }

  pat(repos: string[], push = true): string {
    const token = `github_pat_${(++this.counter).toString().padStart(8, '0')}abcdefghijklmnop`;
    this.pats.set(token, { repos: new Set(repos), push });
    return token;
  }

  /** Every credential the fake handed out (leak scans). */
  issuedTokens(): string[] {
    return [...this.tokens.keys(), ...this.pats.keys()];
  }

  merge(number: number, mergeCommitSha = 'c'.repeat(40)): FakePull {
    const pull = this.pull(number);
    Object.assign(pull, { state: 'closed', merged: true, mergeCommitSha });
    return pull;
  }

  close(number: number): FakePull {
    const pull = this.pull(number);
    Object.assign(pull, { state: 'closed', merged: false });
    return pull;
  }

  pull(number: number): FakePull {
    const pull = this.pulls.find((p) => p.number === number);
    if (!pull) throw new Error(`no pull #${number}`);
    return pull;
  }

  of(method: string, pathPattern: RegExp): FakeRequest[] {
    return this.requests.filter((r) => r.method === method && pathPattern.test(r.path));
  }

  readonly fetch: FetchFn = async (input, init = {}) => {
    const url = new URL(input);
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    const authorization = headers.get('authorization');
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : null;
    const record: FakeRequest = { method, path: url.pathname + url.search, authorization, body, status: 0 };
    this.requests.push(record);
    const res = await this.route(method, url, authorization, body);
    record.status = res.status;
    return res;
  };

  private async route(method: string, url: URL, authorization: string | null, body: any): Promise<Response> {
    const base = new URL(this.api).pathname;
    if (!url.href.startsWith(this.api)) return exampleComGitDiscovery(url.href) ?? json(404, { message: 'Not Found' });
    const path = url.pathname.slice(base.length);
    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path))) return this.mintToken(m[1]!, authorization, body);
    if ((m = /^\/repos\/([^/]+)\/([^/]+)(\/pulls(?:\/(\d+))?)?$/.exec(path))) {
      const repo = `${m[1]}/${m[2]}`;
      const access = this.access(authorization, repo);
      if (access === 'unauthorized') return json(401, { message: 'Bad credentials' });
      if (access === 'none') return json(404, { message: 'Not Found' });
      if (!m[3]) return json(200, { full_name: repo, ...(access.pat ? { permissions: { admin: false, push: access.push, pull: true } } : {}) });
      if (method === 'GET' && m[4]) {
        const pull = this.pulls.find((p) => p.number === Number(m![4]));
        return pull ? json(200, this.view(repo, pull)) : json(404, { message: 'Not Found' });
      }
      if (method === 'GET') {
        const head = url.searchParams.get('head')?.split(':')[1] ?? null;
        return json(
          200,
          this.pulls.filter((p) => p.state === 'open' && (head === null || p.head === head)).map((p) => this.view(repo, p)),
        );
      }
      if (method === 'POST') {
        if (this.pullCreateStatus !== null) return json(this.pullCreateStatus, { message: 'refused by the test' });
        if (this.pulls.some((p) => p.state === 'open' && p.head === body.head))
          return json(422, { message: 'Validation Failed', errors: [{ message: 'A pull request already exists' }] });
        const pull: FakePull = {
          number: this.pulls.length + 1,
          title: body.title,
          body: body.body,
          head: body.head,
          base: body.base,
          headSha: '9'.repeat(40),
          state: 'open',
          merged: false,
          mergeCommitSha: null,
        };
        this.pulls.push(pull);
        return json(201, this.view(repo, pull));
      }
    }
    return json(404, { message: 'Not Found' });
  }

  private view(repo: string, p: FakePull) {
    return {
      number: p.number,
      html_url: `${FAKE_GIT}/${repo}/pull/${p.number}`,
      state: p.state,
      merged: p.merged,
      merge_commit_sha: p.mergeCommitSha,
      title: p.title,
      body: p.body,
      head: { ref: p.head, sha: p.headSha },
      base: { ref: p.base },
    };
  }

  private access(authorization: string | null, repo: string): 'unauthorized' | 'none' | { pat: boolean; push: boolean } {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!token) return 'unauthorized';
    const pat = this.pats.get(token);
    if (pat) return pat.repos.has(repo) ? { pat: true, push: pat.push } : 'none';
    const minted = this.tokens.get(token);
    if (!minted || minted.expiresAt <= Date.now()) return 'unauthorized';
    return minted.repos.has(repo) ? { pat: false, push: true } : 'none';
  }

  private async mintToken(installationId: string, authorization: string | null, body: any): Promise<Response> {
    if (this.tokenFailures && this.tokenFailures.times > 0) {
      this.tokenFailures.times -= 1;
      return json(this.tokenFailures.status, { message: 'fault injected by the test' });
    }
    const jwt = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!jwt) return json(401, { message: 'A JSON web token could not be decoded' });
    try {
      const { payload } = await jwtVerify(jwt, this.publicKey, { algorithms: ['RS256'], issuer: this.appId });
      if ((payload.exp ?? 0) - Math.floor(Date.now() / 1000) > 600) return json(401, { message: "'Expiration time' claim ('exp') is too far in the future" });
    } catch {
      return json(401, { message: 'A JSON web token could not be decoded' });
    }
    const installation = this.installations.get(installationId);
    if (!installation || installation.appId !== this.appId) return json(404, { message: 'Not Found' });
    const names = new Set([...installation.repos].map((r) => r.split('/')[1]!));
    const wanted: string[] = body?.repositories ?? [];
    if (wanted.some((r) => !names.has(r))) {
      return json(422, { message: 'There is at least one repository that does not exist or is not accessible to the parent installation.' });
    }
    for (const [name, level] of Object.entries((body?.permissions ?? {}) as Record<string, string>)) {
      const granted = installation.permissions[name];
      if (!granted || (level === 'write' && granted !== 'write'))
        return json(422, { message: 'The permissions requested are not granted to this installation.' });
    }
    const token = `ghs_${(++this.counter).toString().padStart(8, '0')}abcdefghijklmnopqrstu`;
    const expiresAt = Date.now() + this.tokenLifetimeMs;
    const repos = new Set([...installation.repos].filter((r) => wanted.length === 0 || wanted.includes(r.split('/')[1]!)));
    this.tokens.set(token, { repos, expiresAt });
    return json(201, { token, expires_at: new Date(expiresAt).toISOString(), permissions: body?.permissions ?? installation.permissions });
  }
}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}
