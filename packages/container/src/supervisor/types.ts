import type { AgentRuntimeStatus, Clock, MergeRequest, RandomSource, RemoveRigWorkspacesResponse, StartAgentRequestSchema } from '@gastown/protocol';
import type { z } from 'zod';
import type { BrokerApi } from '../broker-api/app';
import type { ControlPlaneClientFactory } from '../broker/control-plane-client';
import type { BrokerFactory } from '../broker/credential-broker';
import type { EventSinkFactory } from '../consumers/event-sink';
import type { HeartbeatLoopFactory } from '../consumers/heartbeat-loop';
import type { RuntimeFactory } from '../contracts';
import type { GitTokenRegistry } from '../git/git-token-registry';
import type { GitWorkspace } from '../git/git-workspace';
import type { Logger } from '../log/logger';
import type { SecretSink, SecretSource } from '../log/secret-registry';
import type { Timers } from '../timers';

/** A start request after validation (defaults applied). */
export type StartAgent = z.output<typeof StartAgentRequestSchema>;

export interface SupervisorSettings {
  instanceId: string;
  /** Absolute; scratch dirs and per-agent state dirs live below it. */
  dataDir: string;
  pluginPath: string;
  /** Loopback URL of the local broker API: each runtime's broker URL. */
  brokerUrl: string;
  heartbeatIntervalMs: number;
  /** Defaults when a start request carries no idleTimeoutSeconds. */
  idleTimeoutMs: { polecat: number; refinery: number };
  /** Budget of stopAll before runtimes are stopped without waiting for reports. */
  stopTimeoutMs: number;
}

/** Everything the supervisor composes, injected so tests use fakes. */
export interface SupervisorDeps {
  settings: SupervisorSettings;
  git: GitWorkspace;
  /**
   * The container's git token brokers (private rigs): a polecat or refinery of a rig with auth !=
   * none offers its dispatch's git token and stays attached (its client pulls fresh ones) until its
   * teardown. Without it, a start request's git token is ignored.
   */
  gitTokens?: GitTokenRegistry;
  /** The local broker API: a run's broker key is issued at registration and revoked at teardown. */
  brokerApi: Pick<BrokerApi, 'registerAgent' | 'unregisterAgent'>;
  createBroker: BrokerFactory;
  createClient: ControlPlaneClientFactory;
  createHeartbeat: HeartbeatLoopFactory;
  createEventSink: EventSinkFactory;
  createRuntime: RuntimeFactory;
  clock: Clock;
  random: RandomSource;
  timers: Timers;
  fetch: typeof fetch;
  logger: Logger;
  /** Registry the broker registers tokens with so the logger redacts them; events and status messages are redacted with it too. */
  secrets?: SecretSink & SecretSource;
}

/** What the control server needs from the supervisor. */
export interface AgentControl {
  start(input: unknown): Promise<AgentRuntimeStatus>;
  deliver(agentId: string, input: unknown): Promise<AgentRuntimeStatus>;
  /** A nudge into a live agent's session (no turn is started). */
  nudge(agentId: string, input: unknown): Promise<AgentRuntimeStatus>;
  push(agentId: string, input: unknown): AgentRuntimeStatus;
  stop(agentId: string, input: unknown): Promise<AgentRuntimeStatus>;
  status(agentId: string): AgentRuntimeStatus;
  list(): AgentRuntimeStatus[];
  /** Number of agents not exited or failed. */
  liveCount(): number;
  /** Validate and accept a merge; the result is reported asynchronously through the refinery's client. */
  merge(input: unknown): { accepted: true; request: MergeRequest };
  /** A deleted rig: its agents' live runs end, then its workspaces are removed (CONTAINER_API.removeRig). */
  removeRig(rigId: string, input: unknown): Promise<RemoveRigWorkspacesResponse>;
}
