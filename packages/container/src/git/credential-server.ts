/**
 * The container's git credential server: a Unix socket in a root-only directory of the data dir
 * (`<dataDir>/run`, mode 0700; the socket 0600) that answers git's credential requests for a rig's
 * URL from that rig's GitTokenBroker. Only the container's own git runner points git at it (its
 * credential helper, ./credential-helper.mjs, gets the socket's PATH as an argument, never a
 * secret). Agents cannot reach it: a sandboxed agent runs as another uid (the 0700 directory stops
 * it) and bwrap does not mount the data dir at all.
 *
 * `get` for the rig's exact scheme, host and path → `username` / `password` of the grant in hand
 * (fetching a fresh one first if it is past its life); `erase` → the broker marks that token
 * refused and refreshes; `store` and anything else → nothing.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { chmod, lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GastownError, codeOf } from '@gastown/protocol';
import type { Logger } from '../log/logger';
import { MAX_HELPER_MESSAGE_BYTES, formatCredential, matchesRigUrl, parseHelperRequest, type HelperRequest } from './credential-protocol';
import type { GitTokenRegistry } from './git-token-registry';

export const CREDENTIAL_SOCKET_NAME = 'git-credential.sock';
/** Unix socket paths are limited to ~107 bytes; longer data dirs fall back to a private temp dir. */
export const MAX_SOCKET_PATH_BYTES = 100;
/** A connection that has not sent its request within this long is closed. */
const REQUEST_TIMEOUT_MS = 90_000;

export interface GitCredentialServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

export interface GitCredentialServerOptions {
  /** Absolute data dir; the socket goes to `<dataDir>/run/`. */
  dataDir: string;
  registry: GitTokenRegistry;
  logger: Logger;
}

export async function startGitCredentialServer(options: GitCredentialServerOptions): Promise<GitCredentialServer> {
  const log = options.logger.child({ component: 'git-credential-server' });
  const { runDir, temporary } = await privateRunDir(options.dataDir, log);
  const socketPath = join(runDir, CREDENTIAL_SOCKET_NAME);
  await rm(socketPath, { force: true });

  const server = createServer({ allowHalfOpen: true }, (socket) => serve(socket, options.registry, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(socketPath, 0o600);
  log.info('git.credential_server.started', { socketPath });

  let closing: Promise<void> | null = null;
  return {
    socketPath,
    close: () =>
      (closing ??= (async () => {
        await closeServer(server);
        await rm(temporary ? runDir : socketPath, { recursive: true, force: true });
      })()),
  };
}

/** `<dataDir>/run`, created 0700 and checked: a real directory of ours (not a symlink), nobody else's way in. */
async function privateRunDir(dataDir: string, log: Logger): Promise<{ runDir: string; temporary: boolean }> {
  const preferred = join(dataDir, 'run');
  if (Buffer.byteLength(join(preferred, CREDENTIAL_SOCKET_NAME)) > MAX_SOCKET_PATH_BYTES) {
    // mkdtemp creates it 0700: as private as the preferred one
    const fallback = await mkdtemp(join(tmpdir(), 'gastown-git-'));
    log.warn('git.credential_server.short_path', { reason: 'the data dir is too long for a Unix socket path', runDir: fallback });
    return { runDir: fallback, temporary: true };
  }
  await mkdir(preferred, { recursive: true, mode: 0o700 });
  const stats = await lstat(preferred);
  const uid = process.getuid?.();
  if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid)) {
    throw new GastownError('config_invalid', `${preferred} must be a directory of the container's own user, not a link`);
  }
  await chmod(preferred, 0o700);
  return { runDir: preferred, temporary: false };
}

function serve(socket: Socket, registry: GitTokenRegistry, log: Logger): void {
  const chunks: Buffer[] = [];
  let size = 0;
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_HELPER_MESSAGE_BYTES) {
      log.warn('git.credential_request_refused', { reason: 'too large' });
      socket.destroy();
      return;
    }
    chunks.push(chunk);
  });
  socket.on('end', () => {
    const request = parseHelperRequest(Buffer.concat(chunks).toString('utf8'));
    if (request === null) {
      log.warn('git.credential_request_refused', { reason: 'not a helper request' });
      socket.end();
      return;
    }
    void answer(request, registry, log).then((text) => {
      if (!socket.destroyed) socket.end(text);
    });
  });
}

/** The text to send back (empty: nothing for git). Never throws; never logs a value. */
async function answer(request: HelperRequest, registry: GitTokenRegistry, log: Logger): Promise<string> {
  const broker = registry.get(request.rigId);
  const gitUrl = broker?.gitUrl ?? null;
  if (broker === null || gitUrl === null || !matchesRigUrl(request.attributes, gitUrl)) {
    log.warn('git.credential_request_refused', {
      rigId: request.rigId,
      action: request.action,
      reason: broker === null ? 'unknown rig' : 'not the rig URL',
      protocol: request.attributes['protocol'] ?? null,
      host: request.attributes['host'] ?? null,
    });
    return '';
  }
  switch (request.action) {
    case 'get':
      try {
        return formatCredential(await broker.credential());
      } catch (error) {
        log.warn('git.credential_unavailable', { rigId: request.rigId, code: codeOf(error, 'internal') });
        return '';
      }
    case 'erase': {
      const refused = request.attributes['password'];
      // the refresh goes on in the background; git does not wait for it, the runner's retry does
      if (refused !== undefined) void broker.reject(refused);
      return '';
    }
    case 'store':
      return '';
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
