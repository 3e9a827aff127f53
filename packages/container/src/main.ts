/**
 * The town container process: parse config once, start the local broker API on loopback
 * and the control server, run agents until SIGTERM/SIGINT, then stop every agent
 * (completion reports, event flush, no orphan runtimes) and exit 0.
 *
 * Ready line on stdout (read by the container host): `gastown-container listening on <url> instance <id>`.
 */
import { mkdir } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mathRandom, systemClock, type Clock, type RandomSource } from '@gastown/protocol';
import { createControlPlaneClient, createCredentialBroker } from './broker';
import { createBrokerApi, startBrokerServer } from './broker-api';
import { loadConfig, loadSandboxConfig, scrubProcessEnv, type ContainerConfig, type SandboxConfig } from './config';
import { createSandbox } from './sandbox';
import { createEventSink, createHeartbeatLoop, withReportRetries } from './consumers';
import type { RuntimeFactory } from './contracts';
import { CliGitWorkspace, GitTokenRegistry, RigGitAuth, startGitCredentialServer } from './git';
import { createLogger, type LineSink } from './log';
import { createRuntimeFactory } from './runtime';
import { createControlApp, listen } from './server';
import { AgentSupervisor } from './supervisor';
import { realTimers, type Timers } from './timers';

export const READY_LINE_PREFIX = 'gastown-container listening on';

export interface ContainerHandle {
  url: string;
  brokerUrl: string;
  instanceId: string;
  supervisor: AgentSupervisor;
  /** Graceful stop: every agent, then both servers. Idempotent. */
  stop(): Promise<void>;
}

export interface StartContainerOptions {
  stream?: LineSink;
  clock?: Clock;
  random?: RandomSource;
  timers?: Timers;
  fetch?: typeof fetch;
  /** Override the runtime factory (tests without opencode). */
  createRuntime?: RuntimeFactory;
  /**
   * TEST ONLY: switch broker refresh paths off, to prove that the tests which say "no 401 over many
   * token lifetimes" fail without them. Never set by `runMain`.
   */
  brokerRefresh?: { scheduled: boolean; reactive: boolean };
  /**
   * TEST ONLY: false switches the git token brokers' refresh off (no half-life pull, no reactive
   * refresh), to prove that the private-rig tests fail without it. Default: the config's
   * `gitTokenRefresh` (GASTOWN_GIT_TOKEN_REFRESH), else true.
   */
  gitTokenRefresh?: boolean;
  /** Isolate each agent run (GASTOWN_SANDBOX, parsed by `loadSandboxConfig`); none when omitted. `runMain` always passes it. */
  sandbox?: SandboxConfig;
}

/** Compose the container from a parsed config. */
export async function startContainer(config: ContainerConfig, options: StartContainerOptions = {}): Promise<ContainerHandle> {
  // GASTOWN_CLOCK_OFFSET_MS is a test-only skew knob (0 in production)
  const offsetMs = config.clockOffsetMs ?? 0;
  const clock: Clock = options.clock ?? (offsetMs === 0 ? systemClock : { now: () => systemClock.now() + offsetMs });
  const random = options.random ?? mathRandom;
  const timers = options.timers ?? realTimers;
  const fetchImpl = options.fetch ?? fetch;
  const logger = createLogger({ stream: options.stream ?? process.stdout, level: config.logLevel, clock, fields: { instanceId: config.instanceId } });
  const secrets = logger.secrets;
  secrets.add(config.containerKey);
  for (const value of Object.values(config.townEnv)) secrets.add(value);

  await mkdir(config.dataDir, { recursive: true });
  const sandbox = options.sandbox ? await createSandbox({ ...options.sandbox, rootDir: config.dataDir, logger, timers }) : undefined;
  // private rigs: one git token broker per rig, reached by git only through the credential server's root-only socket
  const gitTokens = new GitTokenRegistry({
    clock,
    random,
    timers,
    logger: logger.child({ component: 'git' }),
    secrets,
    refresh: options.gitTokenRefresh ?? config.gitTokenRefresh ?? true,
  });
  const credentialServer = await startGitCredentialServer({ dataDir: config.dataDir, registry: gitTokens, logger });
  const git = await CliGitWorkspace.create({
    dataDir: config.dataDir,
    logger: logger.child({ component: 'git' }),
    path: process.env.PATH,
    auth: new RigGitAuth({ registry: gitTokens, socketPath: credentialServer.socketPath, logger: logger.child({ component: 'git' }) }),
  });

  const brokerApi = createBrokerApi({ logger, fetch: fetchImpl, secrets, townEnv: config.townEnv });
  const brokerServer = await startBrokerServer(brokerApi, { hostname: '127.0.0.1', port: 0 });

  const supervisor = new AgentSupervisor({
    settings: {
      instanceId: config.instanceId,
      dataDir: config.dataDir,
      pluginPath: config.pluginPath,
      brokerUrl: brokerServer.url,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      idleTimeoutMs: config.idleTimeoutMs,
      stopTimeoutMs: config.stopTimeoutMs,
    },
    git,
    gitTokens,
    brokerApi,
    createBroker: options.brokerRefresh
      ? (brokerOptions) =>
          createCredentialBroker({ ...brokerOptions, scheduledRefresh: options.brokerRefresh!.scheduled, reactiveRefresh: options.brokerRefresh!.reactive })
      : createCredentialBroker,
    // completion and merge reports retried (full-jitter backoff)
    createClient: (clientOptions) => withReportRetries(createControlPlaneClient(clientOptions), { timers, random, logger: clientOptions.logger }),
    createHeartbeat: createHeartbeatLoop,
    createEventSink,
    createRuntime: options.createRuntime ?? createRuntimeFactory({ secrets, timers, clock, ...(sandbox ? { sandbox } : {}) }),
    clock,
    random,
    timers,
    fetch: fetchImpl,
    logger,
    secrets,
  });

  const startedAt = clock.now();
  const app = createControlApp({
    control: supervisor,
    containerKey: config.containerKey,
    instanceId: config.instanceId,
    startedAt,
    logger: logger.child({ component: 'control' }),
  });
  const server = await listen(app, { port: config.port, hostname: config.hostname });
  logger.info('container.started', { url: server.url, brokerUrl: brokerServer.url, dataDir: config.dataDir, pluginPath: config.pluginPath });

  let stopping: Promise<void> | null = null;
  return {
    url: server.url,
    brokerUrl: brokerServer.url,
    instanceId: config.instanceId,
    supervisor,
    stop: () =>
      (stopping ??= (async () => {
        logger.info('container.stopping', { agents: supervisor.liveCount() });
        await supervisor.stopAll();
        await server.close();
        await brokerServer.close();
        gitTokens.stop();
        await credentialServer.close();
        logger.info('container.stopped', {});
      })()),
  };
}

/** Process entry: config from env, signals → graceful stop → exit 0. */
export async function runMain(): Promise<void> {
  const config = loadConfig(process.env);
  const sandbox = loadSandboxConfig(process.env);
  scrubProcessEnv(process.env);
  const container = await startContainer(config, { sandbox });
  process.stdout.write(`${READY_LINE_PREFIX} ${container.url} instance ${container.instanceId}\n`);
  const onSignal = (signal: NodeJS.Signals) => {
    void container.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `${JSON.stringify({ level: 'error', msg: 'container.stop_failed', signal, error: error instanceof Error ? error.message : String(error) })}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  runMain().catch((error: unknown) => {
    const code = (error as { code?: unknown }).code;
    process.stderr.write(
      `${JSON.stringify({ level: 'error', msg: 'container.start_failed', code: typeof code === 'string' ? code : 'internal', error: error instanceof Error ? error.message : String(error) })}\n`,
    );
    process.exit(1);
  });
}
