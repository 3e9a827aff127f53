/**
 * GitHub (github.com and GitHub Enterprise Server) for a rig: installation tokens of a GitHub App
 * narrowed to the rig's repository, or the rig's personal access token; the access check of rig
 * add/update; pull requests. Every refusal becomes `git_auth_failed` with a message that names the
 * cause and what to fix — never the key, the JWT or a token.
 */
import { GastownError, type GitTokenGrant, type Rig } from '@gastown/protocol';
import { signAppJwt } from './app-jwt';
import { hostRequest, numberField, objectField, stringField, type HostResponse } from './http';
import type { CreatePullRequestInput, GitHostClient, GitHostDeps, PullRequestInfo } from './types';

/** What an installation token is narrowed to: the repository's contents and pull requests. */
export const INSTALLATION_TOKEN_PERMISSIONS = { contents: 'write', pull_requests: 'write', metadata: 'read' } as const;
export const GITHUB_GIT_USERNAME = 'x-access-token';
const API_HEADERS = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };

function authFailed(message: string): GastownError {
  return new GastownError('git_auth_failed', message);
}

export class GitHubClient implements GitHostClient {
  readonly provider = 'github' as const;
  private readonly api: string;
  private readonly owner: string;
  private readonly name: string;

  constructor(
    private readonly rig: Rig,
    private readonly secret: string | null,
    private readonly deps: GitHostDeps,
    /** Distinguishes grants minted with another credential of the same rig (the secret's fingerprint). */
    private readonly credentialKey: string,
  ) {
    const { apiBaseUrl, repository } = rig.provider;
    const [owner, name, ...rest] = (repository ?? '').split('/');
    if (!apiBaseUrl || !owner || !name || rest.length > 0)
      throw new GastownError('validation_failed', `rig ${rig.name}: GitHub needs the API base URL and an owner/name repository`);
    this.api = apiBaseUrl.replace(/\/+$/, '');
    this.owner = owner;
    this.name = name;
  }

  private get fullName(): string {
    return `${this.owner}/${this.name}`;
  }

  private get repoUrl(): string {
    return `${this.api}/repos/${encodeURIComponent(this.owner)}/${encodeURIComponent(this.name)}`;
  }

  accessToken(): Promise<GitTokenGrant> {
    const { auth } = this.rig;
    if (auth.kind === 'token' && this.secret)
      return Promise.resolve({ rigId: this.rig.id, token: this.secret, username: GITHUB_GIT_USERNAME, expiresAt: null });
    if (auth.kind === 'github_app' && this.secret) return this.deps.cache.get(this.rig.id, this.credentialKey, () => this.mintInstallationToken());
    return Promise.reject(new GastownError('conflict', `rig ${this.rig.name} has no git credentials (auth none)`));
  }

  /** POST /app/installations/{id}/access_tokens with the app JWT, narrowed to this repository. */
  private async mintInstallationToken(): Promise<GitTokenGrant> {
    const { appId, installationId } = this.rig.auth;
    if (!appId || !installationId || !this.secret) throw authFailed('the rig has no GitHub App id, installation id or private key');
    const jwt = await signAppJwt(appId, this.secret, this.deps.clock.now());
    const res = await hostRequest(this.deps, {
      method: 'POST',
      url: `${this.api}/app/installations/${encodeURIComponent(installationId)}/access_tokens`,
      authorization: `Bearer ${jwt}`,
      headers: API_HEADERS,
      json: { repositories: [this.name], permissions: INSTALLATION_TOKEN_PERMISSIONS },
    });
    if (res.status === 401) throw authFailed(`the app id or private key is wrong: GitHub refused the app's token for app ${appId}`);
    if (res.status === 404) throw authFailed(`the app is not installed on ${this.fullName}: installation ${installationId} of app ${appId} was not found`);
    if (res.status === 422) {
      const message = (stringField(res.body, 'message') ?? '').toLowerCase();
      if (message.includes('permission'))
        throw authFailed(`the app cannot push to ${this.fullName} (needs contents: write and pull requests: write in the app's permissions)`);
      throw authFailed(`the app is not installed on ${this.fullName}: installation ${installationId} cannot access the repository`);
    }
    if (res.status === 403) throw authFailed(`the app installation ${installationId} refused the token request (suspended, or rate limited)`);
    const token = stringField(res.body, 'token');
    const expiresAt = Date.parse(stringField(res.body, 'expires_at') ?? '');
    if (res.status !== 201 && res.status !== 200) throw new GastownError('upstream_failed', `GitHub answered ${res.status} to the installation token request`);
    if (!token || !Number.isFinite(expiresAt)) throw new GastownError('upstream_failed', 'GitHub answered the installation token request without a token');
    const contents = objectField(res.body, 'permissions')?.contents;
    if (contents !== undefined && contents !== 'write') throw authFailed(`the app cannot push to ${this.fullName} (needs contents: write)`);
    return { rigId: this.rig.id, token, username: GITHUB_GIT_USERNAME, expiresAt };
  }

  async checkAccess(): Promise<void> {
    const app = this.rig.auth.kind === 'github_app';
    const res = await this.withToken((authorization) => hostRequest(this.deps, { method: 'GET', url: this.repoUrl, authorization, headers: API_HEADERS }));
    if (res.status === 401)
      throw authFailed(app ? 'the app id or private key is wrong: GitHub refused the installation token' : 'the token was refused by GitHub');
    if (res.status === 403 || res.status === 404) {
      throw authFailed(app ? `the app is not installed on ${this.fullName}` : `the token cannot access ${this.fullName}`);
    }
    if (res.status !== 200) throw new GastownError('upstream_failed', `GitHub answered ${res.status} to the repository lookup`);
    const push = objectField(res.body, 'permissions')?.push;
    if (push === false)
      throw authFailed(
        app ? `the app cannot push to ${this.fullName} (needs contents: write)` : `the token cannot push to ${this.fullName} (needs contents: write)`,
      );
  }

  async createPullRequest(input: CreatePullRequestInput): Promise<PullRequestInfo> {
    const res = await this.withToken((authorization) =>
      hostRequest(this.deps, {
        method: 'POST',
        url: `${this.repoUrl}/pulls`,
        authorization,
        headers: API_HEADERS,
        json: { title: input.title, head: input.head, base: input.base, body: input.body },
      }),
    );
    if (res.status === 201 || res.status === 200) return toPullRequestInfo(res.body);
    if (res.status === 422) {
      // opened before (a retry after a crash, or a redelivered merge result): the open one for this branch
      const existing = await this.findOpen(input.head);
      if (existing) return existing;
      throw new GastownError('conflict', `GitHub refused the pull request: ${(stringField(res.body, 'message') ?? 'validation failed').slice(0, 300)}`);
    }
    this.refused(res, 'open pull requests on');
  }

  async getPullRequest(number: number): Promise<PullRequestInfo> {
    const res = await this.withToken((authorization) =>
      hostRequest(this.deps, { method: 'GET', url: `${this.repoUrl}/pulls/${number}`, authorization, headers: API_HEADERS }),
    );
    if (res.status === 200) return toPullRequestInfo(res.body);
    if (res.status === 404) throw new GastownError('not_found', `pull request #${number} was not found on ${this.fullName}`);
    this.refused(res, 'read pull requests of');
  }

  private async findOpen(head: string): Promise<PullRequestInfo | null> {
    const query = `?state=open&head=${encodeURIComponent(`${this.owner}:${head}`)}`;
    const res = await this.withToken((authorization) =>
      hostRequest(this.deps, { method: 'GET', url: `${this.repoUrl}/pulls${query}`, authorization, headers: API_HEADERS }),
    );
    if (res.status !== 200 || !Array.isArray(res.body)) return null;
    const match = (res.body as unknown[]).find((p) => stringField(objectField(p, 'head'), 'ref') === head);
    return match === undefined ? null : toPullRequestInfo(match);
  }

  /** A call with the rig's token; a 401 with a cached installation token drops it and tries once more with a fresh one. */
  private async withToken(call: (authorization: string) => Promise<HostResponse>): Promise<HostResponse> {
    const grant = await this.accessToken();
    const res = await call(`Bearer ${grant.token}`);
    if (res.status !== 401 || this.rig.auth.kind !== 'github_app') return res;
    this.deps.cache.invalidate(this.rig.id, grant.token);
    const fresh = await this.accessToken();
    return call(`Bearer ${fresh.token}`);
  }

  private refused(res: HostResponse, what: string): never {
    if (res.status === 401) throw authFailed('the token was refused by GitHub');
    if (res.status === 403 || res.status === 404) throw authFailed(`the token cannot ${what} ${this.fullName} (needs pull requests: write)`);
    throw new GastownError('upstream_failed', `GitHub answered ${res.status}`);
  }
}

/** A GitHub pull request object → what the town follows. */
export function toPullRequestInfo(body: unknown): PullRequestInfo {
  const number = numberField(body, 'number');
  const url = stringField(body, 'html_url');
  const headSha = stringField(objectField(body, 'head'), 'sha');
  if (number === null || url === null || headSha === null) throw new GastownError('upstream_failed', 'GitHub answered with a malformed pull request');
  const merged = (body as Record<string, unknown>).merged === true || stringField(body, 'merged_at') !== null;
  const state = merged ? 'merged' : stringField(body, 'state') === 'closed' ? 'closed' : 'open';
  return { number, url, state, headSha, mergeCommitSha: merged ? stringField(body, 'merge_commit_sha') : null };
}
