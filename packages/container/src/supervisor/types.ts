import type { AgentRuntimeStatus, Clock, MergeRequest, RandomSource, StartAgentRequestSchema } from '@gastown/protocol';
import type { z } from 'zod';
import type {
  BrokerFactory,
  ControlPlaneClientFactory,
  EventSinkFactory,
  GitWorkspace,
  HeartbeatLoopFactory,
  LocalBrokerApi,
  Logger,
  RuntimeFactory,
  SecretSink,
  Timers,
} from '../contracts';

/** A start request after validation (defaults applied). */
export type StartAgent = z.output<typeof StartAgentRequestSchema>;

export interface SupervisorSettings {
  instanceId: string;
  /** Absolute; scratch dirs and per-agent state dirs live below it. */
  dataDir: string;
  pluginPath: string;
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
  brokerApi: LocalBrokerApi;
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
  /** Registry the broker registers tokens with so the logger redacts them. */
  secrets?: SecretSink;
}

/** What the control server needs from the supervisor. */
export interface AgentControl {
  start(input: unknown): Promise<AgentRuntimeStatus>;
  deliver(agentId: string, input: unknown): Promise<AgentRuntimeStatus>;
  push(agentId: string, input: unknown): AgentRuntimeStatus;
  stop(agentId: string, input: unknown): Promise<AgentRuntimeStatus>;
  status(agentId: string): AgentRuntimeStatus;
  list(): AgentRuntimeStatus[];
  /** Number of agents not exited or failed. */
  liveCount(): number;
  /** Validate and accept a merge; the result is reported asynchronously through the refinery's client. */
  merge(input: unknown): { accepted: true; request: MergeRequest };
}
