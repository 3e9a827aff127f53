/**
 * Turns what went wrong on the wire into a CliError the user can act on: an unreachable server,
 * a rejected token, an unknown town, the server's validation message. Never includes a token.
 */
import { parseErrorBody } from '@gastown/protocol';
import { CliError } from '../errors';

export interface ErrorContext {
  /** The server's base URL (for "cannot reach …"). */
  baseUrl: string;
  /** `GET /api/towns` — for messages about unexpected answers. */
  what: string;
  /** What authenticates the request, for the 401 message. */
  credential: 'token' | 'admin secret';
  /** A better message for 404 than the server's generic one (`town town_x not found`). */
  notFound?: string;
}

/** The system error code behind a failed fetch (`ECONNREFUSED`…), if any. */
export function networkErrorCode(err: unknown): string | null {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) current = errors[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return null;
}

export function unreachableError(baseUrl: string, err: unknown): CliError {
  const code = networkErrorCode(err);
  return new CliError(
    'unreachable',
    `cannot reach ${baseUrl}: is \`npm start\` running?${code ? ` (${code})` : ''}`,
    {
      hint: 'set the server with --url, GASTOWN_URL or `gastown config set url <url>`',
    },
    { cause: err },
  );
}

export function timeoutError(baseUrl: string, what: string, timeoutMs: number): CliError {
  return new CliError('unreachable', `${baseUrl} did not answer ${what} within ${Math.round(timeoutMs / 1000)} s`);
}

export const GIT_AUTH_HINT =
  'nothing was stored. GitHub App: check --app-id, --installation-id and the key file, and that the app is installed on the ' +
  "repository's owner with access to this repository (contents and pull requests read/write). Token: check that it can read " +
  'and push to the repository. A GitHub Enterprise or GitLab host needs --api-base-url.';

/** A non-2xx answer as a CliError. `body` is the parsed JSON body, or null when it was not JSON. */
export function errorFromResponse(status: number, body: unknown, ctx: ErrorContext): CliError {
  const parsed = parseErrorBody(body);
  const serverCode = parsed?.error.code;
  const serverMessage = parsed?.error.message ?? '';
  const details = { status, serverCode };
  if (!parsed) {
    return new CliError(
      status >= 500 ? 'server_error' : 'bad_response',
      `${ctx.what} answered HTTP ${status} without a Gastown error body: is ${ctx.baseUrl} a Gastown server?`,
      details,
    );
  }
  const withMessage = (prefix: string) => (serverMessage ? `${prefix} (${serverMessage})` : prefix);
  // The rig's git host refused its credentials (rig add/update): the server's message is the cause.
  if (serverCode === 'git_auth_failed') {
    return new CliError('failed', `the git host refused the rig's credentials: ${serverMessage || 'no cause given'}`, {
      ...details,
      hint: GIT_AUTH_HINT,
    });
  }
  // A rig without auth whose URL holds no repository the control plane can read (rig add)
  if (serverCode === 'git_remote_unreachable') {
    return new CliError('failed', `the rig's repository could not be read: ${serverMessage || 'no cause given'}`, {
      ...details,
      hint: 'nothing was stored. Check the URL (a typo answers "no repository"); a private repository needs --auth; a git host only the containers can reach needs GASTOWN_RIG_ACCESS_CHECK=off on the server.',
    });
  }
  switch (status) {
    case 401:
      return new CliError('unauthorized', withMessage(`your ${ctx.credential} was rejected: ${serverCode}`), {
        ...details,
        hint:
          ctx.credential === 'token'
            ? 'get a new token with `gastown token create <userId>` (or restart `npm start`), then pass it with --token, GASTOWN_TOKEN or `gastown config set token`'
            : 'pass the right secret with --admin-secret or GASTOWN_ADMIN_SECRET',
      });
    case 403:
      return new CliError('forbidden', withMessage(`your ${ctx.credential} may not do this: ${serverCode}`), details);
    case 404:
      return new CliError('not_found', ctx.notFound ?? withMessage(`not found: ${ctx.what}`), details);
    case 409:
      return new CliError('conflict', serverMessage || `conflict: ${ctx.what}`, details);
    case 400:
    case 413:
    case 415:
      return new CliError('invalid_input', `the server refused the input: ${serverMessage || serverCode}`, details);
    default:
      return new CliError(status >= 500 ? 'server_error' : 'failed', `${ctx.what} failed: ${serverCode}${serverMessage ? `: ${serverMessage}` : ''}`, details);
  }
}
