/**
 * Which git host API a rig talks to, from its git URL and what the user sent (pure). github.com and
 * gitlab.com are known; any other host (GitHub Enterprise Server, self-managed GitLab, the tests'
 * fake) needs `provider.apiBaseUrl`. A rig with credentials or the pull-request strategy must have
 * a resolvable provider; others get what can be derived (or nulls).
 */
import { GastownError, type GitProviderKind, type MergeStrategy, type RigAuthKind, type RigProviderInput } from '@gastown/protocol';
import { isAllowedControlPlaneUrl } from '../town/control-plane-url';

export interface ResolvedProvider {
  kind: GitProviderKind | null;
  apiBaseUrl: string | null;
  repository: string | null;
}

const KNOWN_HOSTS: Record<string, { kind: GitProviderKind; apiBaseUrl: string }> = {
  'github.com': { kind: 'github', apiBaseUrl: 'https://api.github.com' },
  'gitlab.com': { kind: 'gitlab', apiBaseUrl: 'https://gitlab.com/api/v4' },
};

const API_BASE_RULE = 'must be an https: URL (http: only to a loopback host) without credentials, query or fragment';

/** Host and repository path of a git URL (https, ssh or scp-like), or null (a local path, file://). */
export function parseGitRemote(gitUrl: string): { scheme: 'http' | 'ssh'; host: string; path: string } | null {
  const scp = /^[^@/:]+@([^:/]+):(.+)$/.exec(gitUrl);
  if (scp && !gitUrl.includes('://')) return { scheme: 'ssh', host: scp[1]!.toLowerCase(), path: cleanPath(scp[2]!) };
  let url: URL;
  try {
    url = new URL(gitUrl);
  } catch {
    return null;
  }
  const scheme = url.protocol === 'http:' || url.protocol === 'https:' ? 'http' : url.protocol === 'ssh:' ? 'ssh' : null;
  if (!scheme || !url.hostname) return null;
  return { scheme, host: url.host.toLowerCase(), path: cleanPath(decodeURIComponent(url.pathname)) };
}

function cleanPath(path: string): string {
  return path
    .replace(/^\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

/** An API base URL a user may give: https (http to loopback), no userinfo, query or fragment; trailing slashes dropped. */
export function checkApiBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new GastownError('validation_failed', `body.provider.apiBaseUrl: ${API_BASE_RULE}`);
  }
  if (!isAllowedControlPlaneUrl(raw) || url.username || url.password || url.search || url.hash)
    throw new GastownError('validation_failed', `body.provider.apiBaseUrl: ${API_BASE_RULE}`);
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/**
 * The provider of a rig. `needsApi`: the rig authenticates (auth not none) or opens pull requests,
 * so the provider must be complete — else 400 validation_failed saying what to add.
 */
export function resolveProvider(
  gitUrl: string,
  input: RigProviderInput | undefined,
  rule: { authKind: RigAuthKind; mergeStrategy: MergeStrategy },
): ResolvedProvider {
  const remote = parseGitRemote(gitUrl);
  const known = remote ? KNOWN_HOSTS[remote.host] : undefined;
  const apiBaseUrl = input?.apiBaseUrl !== undefined ? checkApiBaseUrl(input.apiBaseUrl) : (known?.apiBaseUrl ?? null);
  const kind: GitProviderKind | null = input?.kind ?? known?.kind ?? (apiBaseUrl === null ? null : /\/api\/v4$/.test(apiBaseUrl) ? 'gitlab' : 'github');
  const repository = remote && remote.path !== '' ? remote.path : null;
  // a host of no known kind has no API to name the repository to
  const resolved = { kind, apiBaseUrl, repository: kind === null ? null : repository };
  const needsApi = rule.authKind !== 'none' || rule.mergeStrategy === 'pull_request';
  if (!needsApi) return resolved;

  if (rule.mergeStrategy === 'pull_request' && rule.authKind === 'none')
    throw new GastownError('validation_failed', 'body.mergeStrategy: pull_request needs auth (github_app or token) to open pull requests');
  // a token is never sent over plain http, except to a loopback host (a local git server, the tests' fake)
  if (rule.authKind !== 'none' && (remote?.scheme !== 'http' || !isAllowedControlPlaneUrl(gitUrl)))
    throw new GastownError('validation_failed', 'body.gitUrl: a rig with auth github_app or token needs an https:// git URL (http:// only to a loopback host)');
  if (!remote || repository === null) throw new GastownError('validation_failed', 'body.gitUrl: the URL names no repository');
  if (apiBaseUrl === null || kind === null)
    throw new GastownError(
      'validation_failed',
      `body.provider.apiBaseUrl: ${remote.host} is not github.com or gitlab.com: give the API base URL (and provider.kind)`,
    );
  if (kind === 'github' && repository.split('/').length !== 2)
    throw new GastownError('validation_failed', 'body.gitUrl: a GitHub repository URL ends in /<owner>/<name>(.git)');
  if (kind === 'gitlab' && rule.authKind === 'github_app')
    throw new GastownError('validation_failed', 'body.auth: a GitLab rig authenticates with kind token (a project, group or personal access token)');
  return resolved;
}

/** `sha256:<8 hex>` of a secret, so a user can tell which one is set without seeing it. */
export async function secretFingerprint(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret)));
  return `sha256:${[...digest.slice(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
