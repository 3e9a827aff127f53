/**
 * The local container host: emulates Cloudflare Containers on one machine. One container
 * process per town (this package's src/main.ts), started on the first inbound request and
 * stopped after the town's sleepAfter without inbound requests.
 *
 * Ready line on stdout: `gastown-host listening on <url>`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { deriveTownContainerKey, systemClock, TOWN_ENV_PREFIX } from '@gastown/protocol';
import { createLogger } from '../log';
import { realTimers } from '../timers';
import { ContainerHost } from './container-host';
import { spawnContainerProcess } from './container-process';
import { loadHostConfig, type HostConfig } from './host-config';
import { createHostApp } from './host-server';
import { sweepTownProcesses } from './orphan-sweep';

const CONTAINER_MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Everything of one town lives under this directory (the container's data dir and HOME, agent homes). */
export function townDataDir(config: HostConfig, townId: string): string {
  return join(config.dataDir, 'towns', townId);
}

/**
 * Environment of a town container: an allow-list plus its settings. Never the host's whole env, and
 * never the deployment's container key: the container gets `townContainerKey`, its town's own key
 * (deriveTownContainerKey), so it cannot authenticate as another town's container.
 */
export function containerEnv(config: HostConfig, townId: string, townEnv: Record<string, string>, townContainerKey: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: process.env.LANG ?? 'C.UTF-8',
    HOME: join(townDataDir(config, townId), 'home'),
    CONTAINER_PORT: '0',
    GASTOWN_BIND_LOOPBACK: '1',
    GASTOWN_CONTAINER_KEY: townContainerKey,
    GASTOWN_DATA_DIR: townDataDir(config, townId),
    GASTOWN_INSTANCE_ID: `ci_${randomBytes(8).toString('hex')}`,
    // every town container on this machine draws its agents' uids from a range of its own
    // (a production container has the machine to itself); the pool also skips busy uids
    GASTOWN_SANDBOX_UID_BASE: String(townUidBase(townId)),
    GASTOWN_SANDBOX_UID_COUNT: String(TOWN_UID_COUNT),
    ...config.passthrough,
  };
  for (const [name, value] of Object.entries(townEnv)) env[TOWN_ENV_PREFIX + name] = value;
  return env;
}

const TOWN_UID_COUNT = 200;
const TOWN_UID_RANGES = 9_000;

/** First uid of a town's range: 100,000 + 200 × (a hash of the town id mod 9,000), below 2 M. */
export function townUidBase(townId: string): number {
  const digest = createHash('sha256').update(townId).digest();
  return 100_000 + (digest.readUInt32BE(0) % TOWN_UID_RANGES) * TOWN_UID_COUNT;
}

/** The env of a town's container with its own derived container key (the deployment's never leaves the host). */
export async function townContainerEnv(config: HostConfig, townId: string, townEnv: Record<string, string>): Promise<Record<string, string>> {
  return containerEnv(config, townId, townEnv, await deriveTownContainerKey(config.containerKey, townId));
}

export async function startHost(config: HostConfig): Promise<{ url: string; host: ContainerHost; close(): Promise<void> }> {
  const logger = createLogger({ stream: process.stderr, level: 'info', clock: systemClock, fields: { component: 'container-host' } });
  logger.secrets.add(config.containerKey);
  const host = new ContainerHost({
    clock: systemClock,
    timers: realTimers,
    logger,
    defaultSleepAfterMs: config.defaultSleepAfterMs,
    stopGraceMs: config.stopGraceMs,
    // a deleted town: its data dir (workspaces, agent homes, runtime state) goes too
    removeData: (townId) => rm(townDataDir(config, townId), { recursive: true, force: true }),
    spawn: async (townId, townEnv) => {
      const env = await townContainerEnv(config, townId, townEnv);
      if (env.GASTOWN_CONTAINER_KEY) logger.secrets.add(env.GASTOWN_CONTAINER_KEY);
      return spawnContainerProcess({
        command: process.execPath,
        args: ['--import', 'tsx', CONTAINER_MAIN],
        cwd: REPO_ROOT,
        env,
        logger,
        readyTimeoutMs: 60_000,
        // like a production container's cgroup: nothing of the town outlives its container
        onExit: () => {
          const reaped = sweepTownProcesses(townDataDir(config, townId));
          if (reaped.length > 0) logger.warn('container left processes behind; killed them', { townId, count: reaped.length });
        },
      });
    },
  });
  const app = createHostApp(host, config.containerKey);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: config.port }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    url: `http://127.0.0.1:${port}`,
    host,
    async close() {
      await host.stopAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function main(): Promise<void> {
  const config = loadHostConfig(process.env);
  const { url, close } = await startHost(config);
  process.stdout.write(`gastown-host listening on ${url}\n`);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  main().catch((error: unknown) => {
    process.stderr.write(`gastown-host failed to start: ${error instanceof Error ? error.message : 'unknown error'}\n`);
    process.exit(1);
  });
}
