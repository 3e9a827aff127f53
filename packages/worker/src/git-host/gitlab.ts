/**
 * GitLab (gitlab.com and self-managed) for a rig: a project, group or personal access token (git
 * user name `oauth2`), the access check of rig add/update, merge requests. GitLab has no app
 * installation tokens here: a rig on GitLab authenticates with `auth: token`.
 */
import { GastownError, type GitTokenGrant, type Rig } from '@gastown/protocol';
import { hostRequest, numberField, objectField, stringField, type HostResponse } from './http';
import type { CreatePullRequestInput, GitHostClient, GitHostDeps, PullRequestInfo } from './types';

export const GITLAB_GIT_USERNAME = 'oauth2';
/** Developer: the lowest GitLab role that may push branches and open merge requests. */
const DEVELOPER_ACCESS_LEVEL = 30;

function authFailed(message: string): GastownError {
  return new GastownError('git_auth_failed', message);
}

export class GitLabClient implements GitHostClient {
  readonly provider = 'gitlab' as const;
  private readonly api: string;
  private readonly path: string;

  constructor(
    private readonly rig: Rig,
    private readonly secret: string | null,
    private readonly deps: GitHostDeps,
  ) {
    const { apiBaseUrl, repository } = rig.provider;
    if (!apiBaseUrl || !repository) throw new GastownError('validation_failed', `rig ${rig.name}: GitLab needs the API base URL and the project path`);
    this.api = apiBaseUrl.replace(/\/+$/, '');
    this.path = repository;
  }

  private get projectUrl(): string {
    return `${this.api}/projects/${encodeURIComponent(this.path)}`;
  }

  accessToken(): Promise<GitTokenGrant> {
    if (this.rig.auth.kind === 'token' && this.secret)
      return Promise.resolve({ rigId: this.rig.id, token: this.secret, username: GITLAB_GIT_USERNAME, expiresAt: null });
    if (this.rig.auth.kind === 'github_app') return Promise.reject(new GastownError('validation_failed', 'a GitLab rig authenticates with auth kind token'));
    return Promise.reject(new GastownError('conflict', `rig ${this.rig.name} has no git credentials (auth none)`));
  }

  async checkAccess(): Promise<void> {
    const res = await this.call('GET', this.projectUrl);
    if (res.status === 401) throw authFailed('the token was refused by GitLab');
    if (res.status === 403 || res.status === 404) throw authFailed(`the token cannot access ${this.path}`);
    if (res.status !== 200) throw new GastownError('upstream_failed', `GitLab answered ${res.status} to the project lookup`);
    const permissions = objectField(res.body, 'permissions');
    if (permissions) {
      const level = Math.max(
        numberField(objectField(permissions, 'project_access'), 'access_level') ?? 0,
        numberField(objectField(permissions, 'group_access'), 'access_level') ?? 0,
      );
      if (level < DEVELOPER_ACCESS_LEVEL)
        throw authFailed(`the token cannot push to ${this.path} (needs the Developer role and the write_repository and api scopes)`);
    }
  }

  async createPullRequest(input: CreatePullRequestInput): Promise<PullRequestInfo> {
    const res = await this.call('POST', `${this.projectUrl}/merge_requests`, {
      source_branch: input.head,
      target_branch: input.base,
      title: input.title,
      description: input.body,
    });
    if (res.status === 201 || res.status === 200) return toMergeRequestInfo(res.body);
    if (res.status === 409) {
      const list = await this.call('GET', `${this.projectUrl}/merge_requests?state=opened&source_branch=${encodeURIComponent(input.head)}`);
      const first = Array.isArray(list.body) ? (list.body as unknown[])[0] : undefined;
      if (list.status === 200 && first !== undefined) return toMergeRequestInfo(first);
    }
    return this.refused(res, 'open merge requests on');
  }

  async getPullRequest(number: number): Promise<PullRequestInfo> {
    const res = await this.call('GET', `${this.projectUrl}/merge_requests/${number}`);
    if (res.status === 200) return toMergeRequestInfo(res.body);
    if (res.status === 404) throw new GastownError('not_found', `merge request !${number} was not found on ${this.path}`);
    return this.refused(res, 'read merge requests of');
  }

  private async call(method: 'GET' | 'POST', url: string, json?: unknown): Promise<HostResponse> {
    const grant = await this.accessToken();
    return hostRequest(this.deps, { method, url, authorization: `Bearer ${grant.token}`, json });
  }

  private refused(res: HostResponse, what: string): never {
    if (res.status === 401) throw authFailed('the token was refused by GitLab');
    if (res.status === 403 || res.status === 404) throw authFailed(`the token cannot ${what} ${this.path} (needs the api scope)`);
    if (res.status === 409 || res.status === 422)
      throw new GastownError('conflict', `GitLab refused the merge request: ${String(stringField(res.body, 'message') ?? res.status).slice(0, 300)}`);
    throw new GastownError('upstream_failed', `GitLab answered ${res.status}`);
  }
}

/** A GitLab merge request object → what the town follows (`iid` is the number people see). */
export function toMergeRequestInfo(body: unknown): PullRequestInfo {
  const number = numberField(body, 'iid');
  const url = stringField(body, 'web_url');
  const headSha = stringField(body, 'sha');
  if (number === null || url === null || headSha === null) throw new GastownError('upstream_failed', 'GitLab answered with a malformed merge request');
  const raw = stringField(body, 'state');
  const state = raw === 'merged' ? 'merged' : raw === 'closed' ? 'closed' : 'open';
  return {
    number,
    url,
    state,
    headSha,
    mergeCommitSha: state === 'merged' ? (stringField(body, 'merge_commit_sha') ?? stringField(body, 'squash_commit_sha')) : null,
  };
}
