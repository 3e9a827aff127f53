/** A broker + client wired to a real fake control plane over HTTP, on one manual clock. */
import type { AgentIdentity, RandomSource } from '@gastown/protocol';
import { ManualClock, ManualTimers, startFakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import type { FakeControlPlane, FakeControlPlaneOptions } from '@gastown/testkit/fake-control-plane/index';
import type { ControlPlaneClient, CredentialBroker } from '../../src/broker';
import { createControlPlaneClient, createCredentialBroker } from '../../src/broker';
import { SecretRegistry } from '../../src/log';
import { AGENT, captureLogger } from './support';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export interface Wired {
  clock: ManualClock;
  timers: ManualTimers;
  cp: FakeControlPlane;
  broker: CredentialBroker;
  client: ControlPlaneClient;
  secrets: SecretRegistry;
  log: ReturnType<typeof captureLogger>;
  stop(): Promise<void>;
}

export async function wire(
  options: {
    cp?: Omit<FakeControlPlaneOptions, 'clock'>;
    random?: RandomSource;
    agent?: AgentIdentity;
    scheduledRefresh?: boolean;
  } = {},
): Promise<Wired> {
  const clock = new ManualClock(T0);
  const timers = new ManualTimers(clock);
  const cp = await startFakeControlPlane({ tokenTtlSeconds: 3, ...options.cp, clock });
  const agent = options.agent ?? AGENT;
  const secrets = new SecretRegistry();
  const log = captureLogger(secrets);
  const initial = await cp.issueCredentials(agent);
  const broker = createCredentialBroker({
    agent,
    controlPlaneUrl: cp.url,
    initial,
    clock,
    random: options.random ?? (() => 0.5),
    timers,
    fetch: globalThis.fetch,
    logger: log.logger,
    secrets,
    ...(options.scheduledRefresh !== undefined ? { scheduledRefresh: options.scheduledRefresh } : {}),
  });
  const client = createControlPlaneClient({ broker, agent, controlPlaneUrl: cp.url, fetch: globalThis.fetch, logger: log.logger });
  broker.start();
  return {
    clock,
    timers,
    cp,
    broker,
    client,
    secrets,
    log,
    async stop() {
      broker.stop();
      await cp.stop();
    },
  };
}
