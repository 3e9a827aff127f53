/**
 * The git host of a private rig, as the control plane talks to it (GitHub REST, GitLab REST):
 * short-lived git tokens, the access check of rig add/update, pull requests. One client per rig,
 * built from the rig, its secret and the TownDO's fetch, clock and token cache (index.ts).
 */
import type { Clock, GitProviderKind, GitTokenGrant, Rig } from '@gastown/protocol';
import type { GitTokenCache } from './token-cache';

export type PullRequestState = 'open' | 'merged' | 'closed';

/** A pull request (GitHub) or merge request (GitLab) as the town follows it. */
export interface PullRequestInfo {
  number: number;
  url: string;
  state: PullRequestState;
  headSha: string;
  /** Merged: the commit on the base branch (null when the host does not say). */
  mergeCommitSha?: string | null;
}

export interface CreatePullRequestInput {
  head: string;
  base: string;
  title: string;
  body: string;
}

export interface GitHostClient {
  readonly provider: GitProviderKind;
  /** A grant for git (mint or reuse: reused for the first quarter of its life). */
  accessToken(): Promise<GitTokenGrant>;
  /** Throws GastownError `git_auth_failed` naming the cause, or `upstream_failed` when the host cannot answer. */
  checkAccess(): Promise<void>;
  createPullRequest(input: CreatePullRequestInput): Promise<PullRequestInfo>;
  getPullRequest(number: number): Promise<PullRequestInfo>;
}

/** A rig with what its git host client needs: the write-only secret (never in a view). */
export interface RigRecordWithSecrets {
  rig: Rig;
  /** The app's private key PEM (github_app) or the access token (token); null for `none`. */
  secret: string | null;
}

/** A `fetch` the client calls (the TownDO's; a stub in tests). */
export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export interface GitHostDeps {
  fetch: FetchFn;
  clock: Clock;
  cache: GitTokenCache;
  /** Per-request timeout, ms (default 15 s). */
  timeoutMs?: number;
}
