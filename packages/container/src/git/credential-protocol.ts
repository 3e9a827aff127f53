/**
 * The wire between git's credential helper (./credential-helper.mjs) and the container's
 * credential server (./credential-server.ts), and git's own credential format. Pure.
 *
 * The helper sends one request per connection: a header line
 * `gastown-git-credential 1 <action> <rigId>`, then git's input verbatim (`key=value` lines, see
 * gitcredentials(7)), then half-closes. The server answers `username=…` / `password=…` lines for a
 * `get` it can serve, nothing otherwise, and closes.
 */

export const HELPER_PROTOCOL = 'gastown-git-credential 1';
/** Largest request or answer (git sends a few hundred bytes). */
export const MAX_HELPER_MESSAGE_BYTES = 64 * 1024;

export type CredentialAction = 'get' | 'store' | 'erase';

export interface HelperRequest {
  action: CredentialAction;
  rigId: string;
  /** git's attributes (protocol, host, path, username, password…), the last value of each key. */
  attributes: Record<string, string>;
}

const ACTIONS: ReadonlySet<string> = new Set(['get', 'store', 'erase']);
const RIG_ID = /^[a-z]{2,6}_[a-z0-9]{6,40}$/;

/** The request the helper sent, or null when it is not one. */
export function parseHelperRequest(text: string): HelperRequest | null {
  const lines = text.split('\n');
  const header = (lines.shift() ?? '').split(' ');
  if (header.length !== 4 || `${header[0]} ${header[1]}` !== HELPER_PROTOCOL) return null;
  const [, , action, rigId] = header as [string, string, string, string];
  if (!ACTIONS.has(action) || !RIG_ID.test(rigId)) return null;
  const attributes: Record<string, string> = {};
  for (const line of lines) {
    if (line === '') break;
    const eq = line.indexOf('=');
    if (eq <= 0) return null;
    attributes[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { action: action as CredentialAction, rigId, attributes };
}

export function formatHelperRequest(action: string, rigId: string, gitInput: string): string {
  return `${HELPER_PROTOCOL} ${action} ${rigId}\n${gitInput}`;
}

/** git's answer format. The values were checked printable (no newline can split them). */
export function formatCredential(credential: { username: string; password: string }): string {
  return `username=${credential.username}\npassword=${credential.password}\n`;
}

/**
 * True when git asks for exactly the rig's URL: same scheme (http or https), host (with port) and
 * path (git sends the path with `credential.useHttpPath`). Anything else — another host, a
 * redirect, a submodule, no path — gets nothing.
 */
export function matchesRigUrl(attributes: Record<string, string>, gitUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(gitUrl);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  if (attributes['protocol'] !== url.protocol.slice(0, -1)) return false;
  if (attributes['host'] === undefined || attributes['host'].toLowerCase() !== url.host.toLowerCase()) return false;
  const path = attributes['path'];
  if (path === undefined) return false;
  return normalPath(path) === normalPath(url.pathname);
}

function normalPath(path: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path;
  }
  return decoded.replace(/^\/+/, '').replace(/\/+$/, '');
}

const AUTH_FAILURE_PATTERNS: readonly RegExp[] = [
  /Authentication failed/i,
  /could not read (Username|Password)/i,
  /returned error: 40[13]\b/,
  /HTTP Basic: Access denied/i,
  /Invalid username or password/i,
  /Permission to \S+ denied/i,
];

/** git's stderr says the host refused (or never got) credentials. */
export function isAuthFailure(stderr: string): boolean {
  return AUTH_FAILURE_PATTERNS.some((pattern) => pattern.test(stderr));
}
