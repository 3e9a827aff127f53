/**
 * `startFakeGitHub`: one HTTP server on 127.0.0.1 (port chosen by the OS) serving git smart HTTP
 * at `/<owner>/<repo>.git` and the REST subset at `/api/v3`, plus the test-facing API
 * (apps, installations, repositories, PATs, pull requests as a human, webhooks, faults, records).
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GastownError } from '@gastown/protocol';
import { FaultBoard } from './faults';
import { isGitPath, serveGit } from './git-http';
import { githubError, sendJson } from './http';
import { PullStore, type PullOutcome } from './pulls';
import { RepoStore } from './repos';
import { API_PREFIX, serveRest } from './rest';
import { CredentialStore } from './tokens';
import type { ApiRequestRecord, FakeGitHub, FakeGitHubOptions, FakePull, GitRequestRecord } from './types';
import { WebhookSender } from './webhooks';

const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

function checkLifetime(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new GastownError('validation_failed', 'fake-github: tokenLifetimeSeconds must be a positive number');
  return seconds;
}

function settled(outcome: PullOutcome): FakePull {
  if (!outcome.ok) throw new GastownError(outcome.status === 404 ? 'not_found' : 'conflict', `fake-github: ${outcome.message}`);
  return outcome.pull;
}

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const clock = options.clock ?? { now: () => Date.now() };
  const randomBytes = options.randomBytes ?? ((size: number) => cryptoRandomBytes(size));
  let tokenLifetimeSeconds = checkLifetime(options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS);
  const ownsRoot = options.rootDir === undefined;
  const rootDir = options.rootDir ?? mkdtempSync(join(tmpdir(), 'fake-github-'));
  let baseUrl = '';

  const gitRequests: GitRequestRecord[] = [];
  const apiRequests: ApiRequestRecord[] = [];
  const credentials = new CredentialStore(clock, randomBytes);
  const repos = new RepoStore(rootDir, () => baseUrl);
  const faults = new FaultBoard(clock);
  const webhooks = new WebhookSender(clock, randomBytes);
  const apiBaseUrl = () => `${baseUrl}${API_PREFIX}`;
  const pulls = new PullStore(
    repos,
    clock,
    () => baseUrl,
    (action, pull, repo) => webhooks.pullRequest(action, pull, repo, apiBaseUrl()),
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`)) {
      await serveRest(req, res, url, {
        credentials,
        repos,
        pulls,
        faults,
        clock,
        tokenLifetimeSeconds: () => tokenLifetimeSeconds,
        apiBaseUrl,
        record: (entry) => apiRequests.push(entry),
      });
      return;
    }
    if (isGitPath(url.pathname)) {
      await serveGit(req, res, url, { repos, credentials, faults, clock, record: (entry) => gitRequests.push(entry) });
      return;
    }
    sendJson(res, 404, githubError('Not Found'));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, githubError('Server Error'));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    apiBaseUrl: apiBaseUrl(),
    port,
    rootDir,
    get tokenLifetimeSeconds() {
      return tokenLifetimeSeconds;
    },
    set tokenLifetimeSeconds(seconds: number) {
      tokenLifetimeSeconds = checkLifetime(seconds);
    },

    createApp: () => credentials.createApp(),
    createInstallation: (appId, repoNames, opts) => credentials.createInstallation(appId, repoNames, opts?.permissions),
    uninstall: (installationId) => credentials.uninstall(installationId),
    createRepo: (owner, name, opts) => repos.create(owner, name, opts),
    repo: (owner, name) => repos.get(owner, name),
    createPat: (repoNames, opts) => credentials.createPat(repoNames, opts?.push ?? true),
    issuedTokens: () => credentials.issued(),

    pulls: (owner, name) => pulls.list(repos.get(owner, name)),
    mergePull: async (owner, name, number) => settled(await pulls.merge(repos.get(owner, name), number)),
    closePull: async (owner, name, number) => settled(await pulls.close(repos.get(owner, name), number)),

    addWebhook: (owner, name, spec) => webhooks.add(repos.get(owner, name), spec),
    deliveries: () => webhooks.deliveries(),
    redeliver: (id) => webhooks.redeliver(id),
    sendRaw: (target, body, headers) => webhooks.sendRaw(target, body, headers),
    flushWebhooks: () => webhooks.flush(),

    fault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),

    gitRequests,
    apiRequests,
    gitAuthFailures: () => gitRequests.filter((r) => r.authOutcome !== 'ok' && r.authOutcome !== 'missing' && r.authOutcome !== 'none'),

    async stop() {
      webhooks.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownsRoot) rmSync(rootDir, { recursive: true, force: true });
    },
  };
}
