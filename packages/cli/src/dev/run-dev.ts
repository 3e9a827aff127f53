/**
 * `gastown dev` / `npm start`: the local stack from a fresh clone. First run: keys and a dev
 * user token are generated into `.gastown/` (gitignored); later runs reuse them, and the
 * towns survive (Durable Object state lives in `.gastown/state`). Ctrl-C stops everything.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createUserToken,
  killStackProcesses,
  portInUse,
  REPO_ROOT,
  requestJson,
  startStack,
  StackError,
  type Stack,
  type StackOptions,
} from '@gastown/testkit/stack/index';
import { decideIsolation } from '@gastown/container/sandbox/isolation';
import { probeSandbox } from '@gastown/container/sandbox/probe';
import { CliError } from '../errors';
import { npmBuildStep, type BuildStep } from './build-step';
import { isolationNotice } from './isolation-notice';
import { acquireStackLock, pidIsAlive, type IsPidAlive, type StackLock } from './stack-lock';
import { devPaths, loadOrCreateDevFile, saveDevFile, writeCliConfig, type DevPaths } from './dev-files';

export const DEFAULT_DEV_PORT = 8787;
const USER_TOKEN_TTL_SECONDS = 365 * 24 * 3600;
const TOKEN_RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;
/** A uid for the isolation probe only (the containers draw their own ranges). */
const SANDBOX_PROBE_UID = 20_000;

const USAGE = `usage: gastown dev [--port N] [--host-port N] [--user ID] [--logs] [--build]

Runs the local stack: wrangler dev (the control plane) + the container host.
  --port N       control-plane port (default ${DEFAULT_DEV_PORT})
  --host-port N  container-host port (default: any free port)
  --user ID      user the dev token is minted for (default "dev")
  --logs         also print every process's output here (always in .gastown/state/logs/)
  --build        run \`npm run build\` first (what \`npm start\` does), once the lock is taken and
                 the ports are found free: a refused start never rebuilds under a running stack

One stack per state directory: .gastown/dev.lock names the running stack's pid and port; a
second start in the same checkout is refused (exit 6) and the first keeps running.
`;

export interface RunDevOptions {
  repoRoot?: string;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** Resolves when the stack should stop (default: SIGINT or SIGTERM). */
  until?: Promise<unknown>;
  /** Liveness of the pid in an existing `.gastown/dev.lock` (default: `kill(pid, 0)`). */
  isPidAlive?: IsPidAlive;
  /** What `--build` runs (default: `npm run build` in the checkout). */
  build?: BuildStep;
  /** Tests: how the stack's worker gets its secrets (default `dev-vars`, see StackOptions). */
  stackOptions?: Pick<StackOptions, 'secretsMode' | 'readyTimeoutMs'>;
}

function parsePort(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StackError('stack_bad_option', `${name} must be a port number`);
  return port;
}

/** A user token for the dev user: the saved one if the worker still accepts it, else a new one. */
async function devUserToken(stack: Stack, paths: DevPaths, file: ReturnType<typeof loadOrCreateDevFile>['file'], userId: string): Promise<string> {
  const saved = file.userToken;
  const fresh = file.userId === userId && saved && (file.userTokenExpiresAt ?? 0) - Date.now() > TOKEN_RENEW_BEFORE_MS;
  if (fresh) {
    const probe = await requestJson(`${stack.workerUrl}/api/towns`, { headers: { authorization: `Bearer ${saved}` } });
    if (probe.status === 200) return saved;
  }
  const minted = await createUserToken(stack.workerUrl, stack.adminSecret, userId, USER_TOKEN_TTL_SECONDS);
  saveDevFile(paths, { ...file, userId, userToken: minted.token, userTokenExpiresAt: minted.expiresAt });
  return minted.token;
}

function signalPromise(): { promise: Promise<NodeJS.Signals>; dispose(): void } {
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    promise,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export async function runDev(args: string[], options: RunDevOptions = {}): Promise<number> {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        'host-port': { type: 'string' },
        user: { type: 'string' },
        logs: { type: 'boolean' },
        build: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    err.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(USAGE);
    return 0;
  }

  const paths = devPaths(options.repoRoot ?? REPO_ROOT);
  const userId = values.user ?? 'dev';
  let stack: Stack | null = null;
  let lock: StackLock | null = null;
  const releaseLock = () => lock?.release();
  // Ctrl-C during start-up must still stop what has started.
  const signals = signalPromise();
  try {
    const workerPort = parsePort(values.port, '--port', DEFAULT_DEV_PORT);
    const hostPort = parsePort(values['host-port'], '--host-port', 0);
    // One stack per state directory, and a busy port refused before anything heavy starts.
    mkdirSync(paths.dir, { recursive: true, mode: 0o711 });
    lock = acquireStackLock(paths.lockFile, { pid: process.pid, port: workerPort, startedAt: new Date().toISOString() }, options.isPidAlive ?? pidIsAlive);
    // a process.exit (second Ctrl-C) skips `finally`
    process.once('exit', releaseLock);
    if (lock.tookOverFrom) out.write(`gastown dev: took over a stale lock of pid ${lock.tookOverFrom.pid} (no longer running)\n`);
    for (const [port, flag] of [
      [workerPort, '--port'],
      [hostPort, '--host-port'],
    ] as const) {
      if (port !== 0 && (await portInUse(port))) {
        err.write(`gastown dev: port ${port} is already in use (is another stack running? pick another with ${flag})\n`);
        return 1;
      }
    }
    if (values.build) {
      out.write('gastown dev: building (npm run build)…\n');
      const interrupted = new AbortController();
      void signals.promise.then(() => interrupted.abort());
      await (options.build ?? npmBuildStep(REPO_ROOT))({ out, err, signal: interrupted.signal });
      if (interrupted.signal.aborted) return 130;
    }
    const { file, keys, created } = loadOrCreateDevFile(paths);
    out.write(created ? `gastown dev: generated keys in ${rel(paths, paths.devJson)}\n` : `gastown dev: using keys from ${rel(paths, paths.devJson)}\n`);
    // .gastown/ is traversable, not listable (0711; its files are 0600): sandboxed agents reach their homes below it
    chmodSync(paths.dir, 0o711);
    // the stack chmods its state directory: on a fresh clone it does not exist yet
    mkdirSync(paths.stateDir, { recursive: true, mode: 0o711 });
    out.write('gastown dev: starting the container host and wrangler dev…\n');
    const starting = startStack({
      stateDir: paths.stateDir,
      workerPort,
      hostPort,
      keys,
      secretsMode: 'dev-vars',
      echo: values.logs ? out : null,
      ...options.stackOptions,
    });
    const first = await Promise.race([starting.then((s) => ({ stack: s })), signals.promise.then((signal) => ({ signal }))]);
    if ('signal' in first) {
      err.write(`gastown dev: ${first.signal} during start-up, stopping…\n`);
      await (await starting.catch(() => null))?.stop();
      return 130;
    }
    stack = first.stack;
    const token = await devUserToken(stack, paths, file, userId);
    writeCliConfig(paths, stack.workerUrl, token);
    out.write(banner(stack, paths, userId, token));
    const notice = isolationNotice(decideIsolation('auto', await probeSandbox({ poolUid: SANDBOX_PROBE_UID })));
    if (notice) err.write(notice);

    const reason = await Promise.race([
      (options.until ?? signals.promise).then(() => ({ kind: 'stop' as const })),
      stack.unexpectedExit.then((exit) => ({ kind: 'crash' as const, exit })),
    ]);
    if (reason.kind === 'crash') {
      err.write(`gastown dev: the ${reason.exit.process} exited (code ${reason.exit.code}, signal ${reason.exit.signal}); see ${reason.exit.logFile}\n`);
    } else {
      out.write('\ngastown dev: stopping… (Ctrl-C again to kill at once)\n');
    }
    const force = forceStopOnSignal(stack, err);
    const report = await stack.stop().finally(force.dispose);
    if (report.orphans.length)
      err.write(
        `gastown dev: killed ${report.orphans.length} stray process(es): ${report.orphans.map((o) => `${o.pid} ${o.command.slice(0, 80)}`).join('; ')}\n`,
      );
    out.write('gastown dev: stopped.\n');
    return reason.kind === 'crash' ? 1 : 0;
  } catch (error) {
    if (stack) await stack.stop().catch(() => undefined);
    if (error instanceof CliError && error.code === 'interrupted') return error.exitCode;
    if (error instanceof CliError && (error.code === 'already_running' || error.code === 'failed')) {
      err.write(`gastown dev: ${error.message}\n`);
      if (error.details.hint) err.write(`hint: ${error.details.hint}\n`);
      return error.exitCode;
    }
    const code = error instanceof StackError ? ` (${error.code})` : '';
    err.write(`gastown dev: ${error instanceof Error ? error.message : String(error)}${code}\n`);
    err.write(`gastown dev: logs are in ${rel(paths, paths.stateDir)}/logs/\n`);
    return 1;
  } finally {
    signals.dispose();
    releaseLock();
    process.off('exit', releaseLock);
  }
}

/**
 * A second Ctrl-C while stopping: SIGKILL every process of the stack and exit at once. Signals
 * in the first 2 s are ignored: one Ctrl-C reaches this process twice under `npm start` (from
 * the terminal to the whole foreground group, and relayed by the tsx wrapper).
 */
function forceStopOnSignal(stack: Stack, err: NodeJS.WritableStream): { dispose(): void } {
  const armedAt = Date.now() + 2_000;
  const onSignal = () => {
    if (Date.now() < armedAt) return;
    const killed = killStackProcesses(stack.stateDir);
    err.write(`gastown dev: killed ${killed.length} process(es)\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function rel(paths: DevPaths, path: string): string {
  return path.startsWith(paths.root) ? path.slice(paths.root.length).replace(/^\//, '') : path;
}

function banner(stack: Stack, paths: DevPaths, userId: string, token: string): string {
  return `
Gastown is running.

  Control plane   ${stack.workerUrl}          (API: docs/API.md, ${stack.workerUrl}/openapi.json)
  Container host  ${stack.hostUrl}
  User            ${userId}
  User token      ${token}

The gastown CLI is configured (${rel(paths, paths.cliJson)}):
  npx gastown town create my-town
  npx gastown --help
Dashboard: ${stack.workerUrl}/ (paste the user token to sign in).
Or the API directly:
  curl -H "Authorization: Bearer <token>" ${stack.workerUrl}/api/towns

State and logs: ${rel(paths, paths.stateDir)}/ (delete .gastown/ to reset). Ctrl-C stops everything.
`;
}
