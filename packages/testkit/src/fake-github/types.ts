/** Public types of the fake GitHub (test-only). */

import type { Clock } from '@gastown/protocol';

export type { Clock };

/** GitHub permission levels of an app installation / installation token. */
export type PermissionLevel = 'read' | 'write';
export type Permissions = Record<string, PermissionLevel>;

export interface FakeGitHubOptions {
  /** Installation token lifetime; default 3600 s (GitHub's). Changeable later with `tokenLifetimeSeconds`. */
  tokenLifetimeSeconds?: number;
  /** Milliseconds; default the wall clock. Git and HTTP run in real time; only expiry decisions (tokens, JWTs, faults) use it. */
  clock?: Clock;
  /** Random bytes for tokens and delivery ids; default `crypto.randomBytes`. */
  randomBytes?: (size: number) => Buffer;
  /** Where bare repositories live; default a new temp dir, removed by `stop()`. */
  rootDir?: string;
}

export interface FakeApp {
  appId: string;
  /** PKCS#1 (`BEGIN RSA PRIVATE KEY`), as GitHub hands out an app's key. */
  privateKeyPem: string;
  /** The same key as PKCS#8 (`BEGIN PRIVATE KEY`), what `jose.importPKCS8` takes. */
  privateKeyPkcs8Pem: string;
  /** SPKI PEM; the fake verifies app JWTs with it. */
  publicKeyPem: string;
}

export interface CreateRepoOptions {
  defaultBranch?: string;
  /** Path → content of the initial commit; default a README.md. */
  files?: Record<string, string>;
}

export interface FakeRepo {
  id: number;
  owner: string;
  name: string;
  /** `owner/name` */
  fullName: string;
  defaultBranch: string;
  /** Absolute path of the bare repository on disk (read it with git directly). */
  path: string;
  /** `http://127.0.0.1:<port>/<owner>/<name>.git` */
  cloneUrl: string;
}

export type PullState = 'open' | 'closed';

export interface FakePull {
  number: number;
  owner: string;
  repo: string;
  title: string;
  body: string;
  state: PullState;
  merged: boolean;
  headRef: string;
  /** Live tip of the head branch while open; frozen when merged or closed. */
  headSha: string;
  baseRef: string;
  htmlUrl: string;
  createdAt: number;
  updatedAt: number;
  closedAt: number | null;
  mergedAt: number | null;
  mergeCommitSha: string | null;
}

/**
 * Why a request was (not) let in. `missing`: no credentials (git's first request, by design);
 * `expired` / `unknown`: a token past its expiry / never issued (or revoked, or the wrong user name);
 * `no_access`: a valid token that does not cover the repository or lacks the permission;
 * `refused`: a `git_401` / `api_401` fault; `bad_jwt`: an app JWT that failed verification;
 * `none`: the route needs no credentials.
 */
export type AuthOutcome = 'ok' | 'missing' | 'expired' | 'unknown' | 'no_access' | 'refused' | 'bad_jwt' | 'none';

export type GitService = 'git-upload-pack' | 'git-receive-pack';

export interface GitRequestRecord {
  at: number;
  /** `owner/name`, or null when the path names no repository. */
  repo: string | null;
  service: GitService | null;
  /** `info/refs` advertisement or the POST of the service itself. */
  phase: 'advertise' | 'rpc' | 'other';
  status: number;
  authOutcome: AuthOutcome;
  /** `sha256` fingerprint (8 hex) of the token presented; never the token. */
  tokenFingerprint: string | null;
  /** The request body came `Content-Encoding: gzip` (git compresses large upload-pack requests). */
  gzipped: boolean;
}

export interface ApiRequestRecord {
  at: number;
  method: string;
  /** Path without the query, e.g. `/api/v3/repos/o/r`. */
  path: string;
  status: number;
  authOutcome: AuthOutcome;
  /** Short machine reason for a refusal (`signature`, `exp_too_far`, `not_installed`, …). */
  reason: string | null;
  /** The fault that answered, if one did. */
  fault: FaultKind | null;
  tokenFingerprint: string | null;
}

/**
 * Faults. `refuse_tokens`, `token_401`, `token_5xx`, `slow` hit `POST /app/installations/:id/access_tokens`;
 * `git_401` makes every git request answer 401; `api_401` every token-authenticated REST route.
 */
export type FaultKind = 'refuse_tokens' | 'token_401' | 'token_5xx' | 'slow' | 'git_401' | 'api_401';

export interface FaultSpec {
  kind: FaultKind;
  /** Active until this time (ms, by the fake's clock); absent: until `clearFaults()` or `times` runs out. */
  until?: number;
  /** Only the next N matching requests. */
  times?: number;
  /** `slow`: delay before answering normally (default 2000). */
  delayMs?: number;
  /** `refuse_tokens`: destroy the socket (`reset`) or answer 503 (default). */
  refuseWith?: 'reset' | 503;
  /** `token_5xx`: the status (default 500). */
  status?: number;
}

export interface WebhookSpec {
  url: string;
  secret: string;
}

export interface WebhookDelivery {
  /** X-GitHub-Delivery (a uuid); a redelivery keeps the id of the original. */
  id: string;
  hookId: number;
  url: string;
  event: string;
  action: string | null;
  /** Receiver's status, or null when the request failed (`error` says how). */
  status: number | null;
  error: string | null;
  /** The exact raw body that was signed and sent. */
  body: string;
  headers: Record<string, string>;
  at: number;
  redelivery: boolean;
}

export interface RawSendResult {
  status: number;
  body: string;
}

export interface FakeGitHub {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/api/v3` (GitHub Enterprise Server style). */
  readonly apiBaseUrl: string;
  readonly port: number;
  /** Directory holding `<owner>/<name>.git`. */
  readonly rootDir: string;
  /** Installation token lifetime for tokens issued from now on. */
  tokenLifetimeSeconds: number;

  createApp(): FakeApp;
  /** `repos`: `owner/name` full names. Default permissions: contents write, pull_requests write, metadata read. */
  createInstallation(appId: string, repos: string[], options?: { permissions?: Permissions }): string;
  /** Remove an installation: its tokens stop working, its id answers 404. */
  uninstall(installationId: string): void;
  createRepo(owner: string, name: string, options?: CreateRepoOptions): FakeRepo;
  repo(owner: string, name: string): FakeRepo;
  /** A personal access token for `repos` (full names); `push: false` = read-only. */
  createPat(repos: string[], options?: { push?: boolean }): string;
  /** Every installation token issued and every PAT created (for leak scans). */
  issuedTokens(): string[];

  pulls(owner: string, repo: string): FakePull[];
  /** Merge as a human would (merge commit on the base branch); fires the `closed` webhook with merged: true. */
  mergePull(owner: string, repo: string, number: number): Promise<FakePull>;
  /** Close without merging; fires the `closed` webhook with merged: false. */
  closePull(owner: string, repo: string, number: number): Promise<FakePull>;

  addWebhook(owner: string, repo: string, spec: WebhookSpec): number;
  deliveries(): WebhookDelivery[];
  /** Resend a delivery with the same id, body and signature. */
  redeliver(id: string): Promise<WebhookDelivery>;
  /** POST anything to a URL (forged deliveries). */
  sendRaw(url: string, body: string, headers?: Record<string, string>): Promise<RawSendResult>;
  /** Resolves when every webhook delivery started so far has finished. */
  flushWebhooks(): Promise<void>;

  fault(spec: FaultSpec): void;
  clearFaults(): void;

  readonly gitRequests: ReadonlyArray<GitRequestRecord>;
  readonly apiRequests: ReadonlyArray<ApiRequestRecord>;
  /** Git requests refused for a reason other than `missing` (git's first, credential-less try). */
  gitAuthFailures(): GitRequestRecord[];

  stop(): Promise<void>;
}
