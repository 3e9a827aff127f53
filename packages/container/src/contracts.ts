/**
 * Contracts between the container's modules: broker (src/broker), runtime adapters
 * (src/runtime), git (src/git) and the supervisor/control server (src/supervisor, src/server).
 * Types only.
 */
import type {
  AccessTokenGrant,
  AgentCredentials,
  AgentEvent,
  AgentIdentity,
  Clock,
  CompletionRequest,
  CredentialStatus,
  HeartbeatRequest,
  HeartbeatResponse,
  MergeResultRequest,
  ProviderConfig,
  RandomSource,
  RigRef,
  RuntimeKind,
  ToolName,
} from '@gastown/protocol';

/** Structured logger: one JSON line per call. Never pass a secret in `fields`. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** setTimeout/clearTimeout, injected so tests drive time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// ---- broker ------------------------------------------------------------------

export interface BrokerOptions {
  agent: AgentIdentity;
  controlPlaneUrl: string;
  initial: AgentCredentials;
  clock: Clock;
  random: RandomSource;
  timers: Timers;
  fetch: typeof fetch;
  logger: Logger;
  /** false disables scheduled pull refresh (tests prove the system fails without it). Default true. */
  scheduledRefresh?: boolean;
  /**
   * false disables the broker's own refreshes on demand: after expiry `accessToken()` throws
   * instead of refreshing, and `handleUnauthorized` does nothing. Default true. With both
   * flags false the broker only ever holds what it was given or pushed.
   */
  reactiveRefresh?: boolean;
  /** Where every token and refresh credential is registered so the logger redacts it; unregistered on stop. */
  secrets?: SecretSink;
  /** Timeout of one refresh request. Default 30 000. */
  requestTimeoutMs?: number;
}

/** Values a logger must redact. Implemented by `SecretRegistry` (src/log). */
export interface SecretSink {
  add(secret: string): void;
  remove(secret: string): void;
}

/**
 * Holds one agent's access token and refresh credential, in memory only.
 * Refreshes at 50 % of life ± 10 % jitter; backoff 1 s → 60 s full jitter; serves the
 * still-valid token while refreshing; never past its expiry.
 */
export interface CredentialBroker {
  readonly agentId: string;
  /** A currently valid access token. Throws GastownError('credentials_expired') when none can be had. */
  accessToken(): Promise<string>;
  /** A consumer saw 401 token_expired/token_revoked with `failedToken`: single-flight refresh unless already replaced. */
  handleUnauthorized(failedToken: string): Promise<void>;
  /** Swap in pushed credentials atomically (warm send, alarm push, reissue). Ignores grants older than the one in hand or of an older gen. */
  push(grant: AccessTokenGrant, refresh?: { refreshCredential: string; refreshCredentialExpiresAt: number } | null, source?: 'push' | 'message'): void;
  status(): CredentialStatus;
  start(): void;
  /** Stop timers; forget secrets. */
  stop(): void;
}

/** The one authenticated client, bound to one agent's broker. Every consumer uses it. */
export interface ControlPlaneClient {
  tool(name: ToolName, args: unknown): Promise<unknown>;
  heartbeat(body: HeartbeatRequest): Promise<HeartbeatResponse>;
  events(events: AgentEvent[]): Promise<{ accepted: number; duplicates: number }>;
  completion(body: CompletionRequest): Promise<void>;
  mergeResult(body: MergeResultRequest): Promise<void>;
}

// ---- runtime -----------------------------------------------------------------

/** What a runtime reports, normalised from the opencode/kilo `/event` stream. */
export type RuntimeEvent =
  | { type: 'session.busy'; sessionId: string }
  | { type: 'session.idle'; sessionId: string }
  | { type: 'text'; sessionId: string; messageId: string; text: string; final: boolean }
  | { type: 'tool'; sessionId: string; callId: string; tool: string; state: 'pending' | 'running' | 'completed' | 'error'; input?: unknown; output?: string }
  | { type: 'error'; sessionId: string | null; message: string }
  | { type: 'exit'; code: number | null; signal: string | null };

export interface RuntimeOptions {
  kind: RuntimeKind;
  agent: AgentIdentity;
  /** The agent's working directory (scratch dir, worktree or clone). */
  workdir: string;
  /** Private dir for HOME, XDG_*, TMPDIR. */
  stateDir: string;
  /** Loopback URL of the local broker API and this agent's broker key. */
  brokerUrl: string;
  brokerKey: string;
  provider: ProviderConfig;
  /** Absolute path of the bundled plugin JS file. */
  pluginPath: string;
  instructions: string;
  logger: Logger;
}

export interface AgentRuntime {
  readonly pid: number | null;
  readonly sessionId: string | null;
  /** Spawn `serve`, wait until listening, create the session. */
  start(): Promise<void>;
  /** Queue a user message into the same session (returns once accepted, not when the turn ends). */
  prompt(text: string): Promise<void>;
  onEvent(listener: (event: RuntimeEvent) => void): () => void;
  /** Stop the process and every child (process group); resolves when gone. */
  stop(): Promise<void>;
}

export type RuntimeFactory = (options: RuntimeOptions) => AgentRuntime;

// ---- git -----------------------------------------------------------------------

export interface GitWorkspace {
  /** Bare mirror of a rig, cached per rig under the container's data dir. */
  ensureMirror(rig: RigRef): Promise<string>;
  /** Worktree for a polecat on branch gt/<agentId>/<beadId>, from the rig's default branch. */
  createWorktree(rig: RigRef, agentId: string, beadId: string): Promise<{ path: string; branch: string }>;
  /** Clone for a refinery. */
  createClone(rig: RigRef, agentId: string): Promise<string>;
  /** Push the agent's branch to the rig's origin. */
  pushBranch(rig: RigRef, workdir: string, branch: string): Promise<void>;
  /** Merge `branch` into the default branch of the rig's origin; never loses work on conflict. */
  merge(rig: RigRef, branch: string, message: string): Promise<{ outcome: 'merged'; commitSha: string } | { outcome: 'conflict'; files: string[]; message: string } | { outcome: 'failed'; message: string }>;
  remove(path: string): Promise<void>;
}

// ---- composition (supervisor) ---------------------------------------------------
// Added by the supervisor/server engineer. The supervisor builds one broker, one
// control-plane client, one heartbeat loop and one event sink per agent run through
// these factories, and registers the run with the local broker API.

export type BrokerFactory = (options: BrokerOptions) => CredentialBroker;

export interface ControlPlaneClientOptions {
  agent: AgentIdentity;
  controlPlaneUrl: string;
  broker: CredentialBroker;
  fetch: typeof fetch;
  logger: Logger;
}
export type ControlPlaneClientFactory = (options: ControlPlaneClientOptions) => ControlPlaneClient;

/** Periodic heartbeat of one agent run; `snapshot` is read at every beat. */
export interface HeartbeatLoop {
  start(): void;
  /** Send one heartbeat now (state changes such as idle → waiting); never throws. */
  beatNow(): Promise<void>;
  stop(): void;
}
export interface HeartbeatLoopOptions {
  client: ControlPlaneClient;
  /** The run's broker; its status is the heartbeat's `credential`. */
  broker: CredentialBroker;
  intervalMs: number;
  snapshot: () => HeartbeatRequest;
  clock: Clock;
  timers: Timers;
  logger: Logger;
}
export type HeartbeatLoopFactory = (options: HeartbeatLoopOptions) => HeartbeatLoop;

/** Buffers agent events and ships them in batches through the client; retries keep ids (dedup upstream). */
export interface EventSink {
  record(type: string, data: Record<string, unknown>): void;
  /** Ship everything buffered; resolves when done or given up (never throws). */
  flush(): Promise<void>;
  /** Flush, then stop timers. */
  close(): Promise<void>;
}
export interface EventSinkOptions {
  client: ControlPlaneClient;
  clock: Clock;
  random: RandomSource;
  timers: Timers;
  logger: Logger;
}
export type EventSinkFactory = (options: EventSinkOptions) => EventSink;

/** One agent run as the local broker API sees it. */
export interface BrokerRegistration {
  agent: AgentIdentity;
  broker: CredentialBroker;
  client: ControlPlaneClient;
  /** The town's model provider; the LLM proxy forwards to it with the town env var named by apiKeyEnvVar. */
  provider: ProviderConfig;
}

/** The local broker HTTP API (loopback) that the plugin and the runtime's LLM calls reach. */
export interface LocalBrokerApi {
  /** Loopback base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Registers an agent run and returns its fresh per-run broker key (replaces any earlier key of that agent). */
  register(registration: BrokerRegistration): { brokerKey: string };
  /** Forgets the agent's key: requests with it get 401 broker_unauthorized. */
  unregister(agentId: string): void;
}
