/**
 * `startStack()`: the whole local system on 127.0.0.1 — `wrangler dev` (workerd, the control
 * plane with its Durable Objects on disk), the container host (one container process per town)
 * and, optionally, the scripted fake LLM in this process. Used by the e2e tests, `npm run demo`
 * and `gastown dev`.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeLlm, type FakeLlm, type FakeLlmOptions } from '../fake-llm/index';
import { createUserToken, HostApi, UserApi, type HostTownState } from './clients';
import { StackError } from './errors';
import { formatEnvFile, generateStackKeys, StackKeysSchema, workerSecrets, type StackKeys } from './keys';
import { spawnManaged, type ManagedProcess } from './managed-process';
import { freePort, portInUse, waitForHttpOk } from './net';
import { findStackProcesses, killStackProcesses, type StackProcess } from './orphans';
import { hostCommand, REPO_ROOT, WORKER_DIR, wranglerCommand, QUIET_WRANGLER_ENV } from './commands';
import { freezeWorker } from './frozen-worker';
import { startWithPortRetry } from './port-retry';

export interface StackOptions {
  /** Where keys, logs, Durable Object state and container data live. Default: a new temp dir. */
  stateDir?: string;
  /** Worker port. Default: a free port. `gastown dev` uses 8787. */
  workerPort?: number;
  /** How a free port is found for the worker and its inspector (default: the system's; tests). */
  pickPort?: () => Promise<number>;
  /** Container host port. Default 0 (any free port; read from its ready line). */
  hostPort?: number;
  /** Reuse these keys (e.g. `.gastown/dev.json`). Default: fresh keys. */
  keys?: StackKeys;
  /**
   * How the worker gets its secrets:
   * - `env-file` (default): `<stateDir>/worker.env`, passed with `wrangler dev --env-file`
   *   (wrangler then ignores `packages/worker/.dev.vars`), so stacks are isolated;
   * - `dev-vars`: write `packages/worker/.dev.vars` (gitignored) — what `gastown dev` does, so
   *   a plain `npx wrangler dev` and `scripts/create-user-token.ts` see the same keys.
   */
  secretsMode?: 'env-file' | 'dev-vars';
  /** Extra worker vars (`--var NAME:value`), e.g. `AGENT_TOKEN_TTL`. */
  workerVars?: Record<string, string>;
  /**
   * Extra container-host env, e.g. GASTOWN_HEARTBEAT_INTERVAL_SECONDS (also given to the worker,
   * which judges liveness by it),
   * GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS, GASTOWN_DEFAULT_SLEEP_AFTER_SECONDS,
   * GASTOWN_STOP_GRACE_SECONDS (see packages/container/src/host/host-config.ts).
   */
  hostEnv?: Record<string, string>;
  /** Start the scripted fake LLM in this process (`true` or its options). */
  fakeLlm?: boolean | FakeLlmOptions;
  /** Copy every process's output, prefixed, to this stream (a terminal). */
  echo?: NodeJS.WritableStream | null;
  /**
   * Serve a bundle of the worker made at start instead of its live sources, so edits in the
   * checkout during a run cannot reload it (tests, demo). `gastown dev` keeps live reload.
   */
  frozenWorker?: boolean;
  /** Budget for each process to become ready. Default 120 s. */
  readyTimeoutMs?: number;
}

export interface StackLogs {
  /** `<stateDir>/logs` */
  readonly dir: string;
  /** wrangler dev + workerd output (the worker's console lines and request lines). */
  readonly worker: string;
  /** container host output, including every town container's JSON log lines. */
  readonly host: string;
  /** Every log file of the stack. */
  files(): string[];
  read(file: string): string;
}

export interface StopReport {
  /** Processes still alive after the orderly stop, then SIGKILLed (should be empty). */
  orphans: StackProcess[];
}

export interface Stack {
  readonly stateDir: string;
  readonly workerUrl: string;
  readonly hostUrl: string;
  readonly keys: StackKeys;
  readonly adminSecret: string;
  readonly containerKey: string;
  readonly fakeLlm: FakeLlm | null;
  readonly host: HostApi;
  readonly logs: StackLogs;
  /** A user token from the admin endpoint. */
  userToken(userId?: string, ttlSeconds?: number): Promise<string>;
  /** A user API client with a fresh token for `userId`. */
  userApi(userId?: string): Promise<UserApi>;
  /** The host's view of a town's container (inbound log, running, instance) — never wakes it. */
  hostState(townId: string): Promise<HostTownState>;
  /** SIGKILL a town's container, as a crash would. */
  killContainer(townId: string): Promise<boolean>;
  /**
   * Stop and start `wrangler dev` on the same port and state (Durable Objects survive).
   * `whileDown` runs after the worker has stopped and before it starts again (the outage of a test).
   */
  restartWorker(options?: { whileDown?: () => Promise<void> }): Promise<void>;
  /** Stop everything (host first, so containers report to a live worker), then sweep orphans. Idempotent. */
  stop(options?: { removeState?: boolean }): Promise<StopReport>;
  /** Resolves if the worker or the host exits on its own (not through stop/restartWorker). */
  readonly unexpectedExit: Promise<UnexpectedExit>;
}

export interface UnexpectedExit {
  process: 'worker' | 'host';
  code: number | null;
  signal: string | null;
  logFile: string;
}

const DEFAULT_READY_TIMEOUT_MS = 120_000;
const HOST_READY_LINE = /gastown-host listening on (http:\/\/\S+)/;
const WORKER_STOP_GRACE_MS = 10_000;
/** After stop: how long the stack's remaining processes may take to exit before they count as orphans. */
const ORPHAN_GRACE_MS = 5_000;

async function waitForStackExit(stateDir: string, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (findStackProcesses(stateDir).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const stateDir = resolve(options.stateDir ?? mkdtempSync(join(tmpdir(), 'gastown-stack-')));
  // traversable, not listable: sandboxed agents (other uids) reach their own home and workdir
  // below it; the secret files in it are 0600 and the rest is closed off by the container
  chmodSync(stateDir, 0o711);
  const logDir = join(stateDir, 'logs');
  // owner-only: logs, the Durable Object storage (town env vars live there) and the rig
  // repositories are the stack's, never an agent's (agents run as other users)
  for (const dir of [logDir, join(stateDir, 'wrangler'), join(stateDir, 'repos')]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  }
  const keys = options.keys ? StackKeysSchema.parse(options.keys) : generateStackKeys();
  if (!options.keys) writeFileSync(join(stateDir, 'keys.json'), `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  // Ports picked here are free now, but the machine may hand one out (an outgoing connection's
  // source port) before wrangler binds it: the first start picks new ones when that happens.
  const pickPort = options.pickPort ?? freePort;
  if (options.workerPort !== undefined && (await portInUse(options.workerPort))) {
    throw new StackError('stack_bad_option', `port ${options.workerPort} is already in use (is another stack running? pick another with --port)`);
  }
  let workerPort = options.workerPort ?? (await pickPort());
  let inspectorPort = await pickPort();
  let workerUrl = `http://127.0.0.1:${workerPort}`;
  const logs = stackLogs(logDir);

  let fakeLlm: FakeLlm | null = null;
  let hostProc: ManagedProcess | null = null;
  let workerProc: ManagedProcess | null = null;
  const hostStopGraceMs = (Number(options.hostEnv?.GASTOWN_STOP_GRACE_SECONDS ?? 25) + 15) * 1000;

  let stopping = false;
  let reportExit: (exit: UnexpectedExit) => void = () => undefined;
  const unexpectedExit = new Promise<UnexpectedExit>((resolve) => {
    reportExit = resolve;
  });
  const watchExit = (proc: ManagedProcess, name: UnexpectedExit['process'], isCurrent: () => boolean) => {
    void proc.exited.then(({ code, signal }) => {
      if (!stopping && isCurrent()) reportExit({ process: name, code, signal, logFile: proc.logFile });
    });
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    // host first: its containers stop their agents and report to a worker that still answers
    if (hostProc) await hostProc.stop(hostStopGraceMs);
    if (workerProc) await workerProc.stop(WORKER_STOP_GRACE_MS);
    if (fakeLlm) await fakeLlm.stop();
  };

  try {
    if (options.fakeLlm) fakeLlm = await startFakeLlm(options.fakeLlm === true ? {} : options.fakeLlm);

    // --- container host
    const host = hostCommand();
    hostProc = spawnManaged({
      name: 'host',
      command: host.command,
      args: host.args,
      cwd: REPO_ROOT,
      env: {
        ...baseEnv(stateDir),
        GASTOWN_HOST_PORT: String(options.hostPort ?? 0),
        GASTOWN_CONTAINER_KEY: keys.containerKey,
        GASTOWN_HOST_DATA_DIR: join(stateDir, 'host'),
        ...(options.hostEnv ?? {}),
      },
      logFile: logs.host,
      echo: options.echo ?? null,
    });
    const hostUrl = (await hostProc.waitForLine(HOST_READY_LINE, readyTimeoutMs))[1]!;
    const startedHost = hostProc;
    watchExit(startedHost, 'host', () => hostProc === startedHost);

    // --- worker (wrangler dev)
    const secrets = workerSecrets(keys);
    const envFile = join(stateDir, 'worker.env');
    if (options.secretsMode === 'dev-vars') {
      writeFileSync(
        join(WORKER_DIR, '.dev.vars'),
        formatEnvFile(secrets, 'Written by `gastown dev` (.gastown/dev.json). Gitignored. Delete .gastown/ to reset.'),
        { mode: 0o600 },
      );
    } else {
      writeFileSync(envFile, formatEnvFile(secrets, 'Secrets of this local stack (generated).'), { mode: 0o600 });
    }
    const heartbeat = options.hostEnv?.GASTOWN_HEARTBEAT_INTERVAL_SECONDS;
    const configPath = options.frozenWorker ? await freezeWorker(join(stateDir, 'worker-bundle'), logs.worker) : undefined;
    /** wrangler dev on the current ports (a restart keeps them: the containers know the URL). */
    const wranglerNow = () =>
      wranglerCommand({
        ...(configPath ? { configPath } : {}),
        port: workerPort,
        inspectorPort,
        persistTo: join(stateDir, 'wrangler'),
        envFile: options.secretsMode === 'dev-vars' ? null : envFile,
        vars: {
          GASTOWN_PUBLIC_URL: workerUrl,
          GASTOWN_CONTAINER_HOST_URL: hostUrl,
          // the worker judges liveness by the containers' heartbeat interval: keep both sides alike
          ...(heartbeat ? { GASTOWN_HEARTBEAT_INTERVAL_SECONDS: heartbeat } : {}),
          ...(options.workerVars ?? {}),
        },
      });
    const startWorker = async (): Promise<ManagedProcess> => {
      const wrangler = wranglerNow();
      const proc = spawnManaged({
        name: 'worker',
        command: wrangler.command,
        args: wrangler.args,
        cwd: WORKER_DIR,
        // wrangler's own debug log goes to the stack's log dir too (not ~/.config/.wrangler/logs)
        env: { ...process.env, ...baseEnv(stateDir), ...QUIET_WRANGLER_ENV, WRANGLER_LOG_PATH: join(logDir, 'wrangler') } as Record<string, string>,
        logFile: logs.worker,
        echo: options.echo ?? null,
      });
      let exited: string | null = null;
      void proc.exited.then(({ code, signal }) => {
        exited = `wrangler exited (code ${code}, signal ${signal}); log: ${logs.worker}`;
      });
      await waitForHttpOk(`${workerUrl}/health`, { timeoutMs: readyTimeoutMs, what: 'worker', gaveUp: () => exited });
      watchExit(proc, 'worker', () => workerProc === proc);
      return proc;
    };
    /** The first start: a port taken between picking and binding (EADDRINUSE) is picked again, up to 3 times, unless it was given. */
    const startFirstWorker = async (): Promise<ManagedProcess> => {
      let logBefore = 0;
      return startWithPortRetry({
        start: () => {
          logBefore = existsSync(logs.worker) ? readFileSync(logs.worker, 'utf8').length : 0;
          return startWorker();
        },
        // only this attempt's output (the log is appended to); a port given by the caller is never changed
        portWasTaken: () => options.workerPort === undefined && /Address already in use/.test(readFileSync(logs.worker, 'utf8').slice(logBefore)),
        repick: async (nextAttempt) => {
          appendFileSync(logs.worker, `\n[stack] a port was taken before wrangler bound it: new ports, attempt ${nextAttempt}\n`);
          workerPort = await pickPort();
          inspectorPort = await pickPort();
          workerUrl = `http://127.0.0.1:${workerPort}`;
        },
        attempts: 3,
      });
    };
    workerProc = await startFirstWorker();

    writeFileSync(
      join(stateDir, 'stack.json'),
      `${JSON.stringify({ workerUrl, hostUrl, fakeLlmUrl: fakeLlm?.url ?? null, pids: { worker: workerProc.pid, host: hostProc.pid }, startedAt: new Date().toISOString() }, null, 2)}\n`,
    );

    const hostApi = new HostApi(hostUrl, keys.containerKey);
    let stopped: Promise<StopReport> | null = null;
    // Safety net: if this process ends without stop() (an uncaught error, EPIPE, process.exit),
    // kill every process of the stack synchronously on the way out — nothing may outlive us.
    const onExit = () => {
      if (!stopped) killStackProcesses(stateDir);
    };
    process.once('exit', onExit);
    const stack: Stack = {
      stateDir,
      workerUrl,
      hostUrl,
      keys,
      adminSecret: keys.adminSecret,
      containerKey: keys.containerKey,
      fakeLlm,
      host: hostApi,
      logs,
      async userToken(userId = 'e2e-user', ttlSeconds) {
        return (await createUserToken(workerUrl, keys.adminSecret, userId, ttlSeconds)).token;
      },
      async userApi(userId = 'e2e-user') {
        return new UserApi(workerUrl, await stack.userToken(userId));
      },
      hostState: (townId) => hostApi.state(townId),
      killContainer: (townId) => hostApi.kill(townId),
      async restartWorker(restartOptions = {}) {
        const old = workerProc;
        workerProc = null;
        if (old) await old.stop(WORKER_STOP_GRACE_MS);
        try {
          await restartOptions.whileDown?.();
        } finally {
          workerProc = await startWorker();
        }
      },
      unexpectedExit,
      stop(stopOptions = {}) {
        stopped ??= (async () => {
          await stopAll();
          process.off('exit', onExit);
          // a process still on its way out (an agent runtime its container just stopped, on a loaded
          // machine) is not an orphan: give the stack's processes a moment to exit on their own
          await waitForStackExit(stateDir, ORPHAN_GRACE_MS);
          const orphans = killStackProcesses(stateDir);
          if (stopOptions.removeState) rmSync(stateDir, { recursive: true, force: true });
          return { orphans };
        })();
        return stopped;
      },
    };
    return stack;
  } catch (error) {
    await stopAll().catch(() => undefined);
    killStackProcesses(stateDir);
    throw error;
  }
}

/** Env every stack process gets: the marker that lets `findStackProcesses` find strays. */
function baseEnv(stateDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? stateDir,
    LANG: process.env.LANG ?? 'C.UTF-8',
    GASTOWN_STACK_DIR: stateDir,
  };
}

function stackLogs(dir: string): StackLogs {
  return {
    dir,
    worker: join(dir, 'worker.log'),
    host: join(dir, 'host.log'),
    files: () => readdirSync(dir).map((name) => join(dir, name)),
    read: (file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    },
  };
}

export { findStackProcesses };
