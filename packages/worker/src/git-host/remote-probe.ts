/**
 * Is there a git repository at a rig's URL that can be read without credentials? Asked when a rig
 * without auth is added, so a typo'd or private URL is refused at once (422 `git_remote_unreachable`
 * naming the cause) instead of failing three polecats at their first dispatch.
 *
 * Git's smart HTTP protocol: `GET <url>/info/refs?service=git-upload-pack` answers a readable
 * repository with 200 and content type `application/x-git-upload-pack-advertisement` (GitHub,
 * GitLab, Gitea, `git http-backend`). Only http(s) URLs are asked: the Worker cannot run git, so a
 * path, `file://` or ssh URL is checked at its first clone (and its failure shows on the bead).
 * The URL holds no credential (a rig without auth); the answer body is never read beyond its type.
 */
import { GastownError } from '@gastown/protocol';
import { hostOf } from './http';
import type { FetchFn } from './types';

export const REMOTE_PROBE_TIMEOUT_MS = 10_000;
const ADVERTISEMENT = 'application/x-git-upload-pack-advertisement';

/** True for the URLs the probe can ask (http and https). */
export function isProbeable(gitUrl: string): boolean {
  return /^https?:\/\//i.test(gitUrl);
}

/** The smart-HTTP discovery URL of a repository URL (query and fragment dropped, no trailing slash). */
export function discoveryUrl(gitUrl: string): string {
  const url = new URL(gitUrl);
  url.search = '';
  url.hash = '';
  url.pathname = url.pathname.replace(/\/+$/, '') + '/info/refs';
  url.searchParams.set('service', 'git-upload-pack');
  return url.toString();
}

/** Resolves when the repository can be read anonymously; otherwise throws `git_remote_unreachable` naming why. */
export async function probeGitRemote(gitUrl: string, fetch: FetchFn, timeoutMs = REMOTE_PROBE_TIMEOUT_MS): Promise<void> {
  const host = hostOf(gitUrl);
  let res: Response;
  try {
    res = await fetch(discoveryUrl(gitUrl), {
      method: 'GET',
      headers: { 'user-agent': 'git/2.43.0 (gastown-cloud)', accept: ADVERTISEMENT },
      redirect: 'follow',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new GastownError('git_remote_unreachable', `the git host ${host} cannot be reached from the control plane`, { cause: err });
  }
  const type = res.headers.get('content-type') ?? '';
  await res.body?.cancel().catch(() => undefined);
  if (res.status === 200 && type.startsWith(ADVERTISEMENT)) return;
  if (res.status === 401 || res.status === 403)
    throw new GastownError(
      'git_remote_unreachable',
      `${host} asks for credentials for this repository: it does not exist, or it is private (give the rig auth: a token or a GitHub App)`,
    );
  if (res.status === 404) throw new GastownError('git_remote_unreachable', `there is no repository at this URL on ${host}`);
  if (res.status >= 500) throw new GastownError('git_remote_unreachable', `the git host ${host} answered ${res.status}`);
  throw new GastownError('git_remote_unreachable', `${host} did not answer as a git repository (status ${res.status}${type ? `, ${type.split(';')[0]}` : ''})`);
}
