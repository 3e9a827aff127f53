/**
 * The agent runtime's contract: what the supervisor asks of an opencode/kilo adapter
 * (implemented in src/runtime). Every other interface lives beside the module that
 * implements it (broker/, consumers/, git/, log/, broker-api/, timers.ts); the three shared
 * ones are re-exported here for the modules that import them from this file.
 */
import type { AgentIdentity, GastownError, IsolationLevel, ProviderConfig, RuntimeKind } from '@gastown/protocol';
import type { Logger } from './log/logger';
import type { SessionExport } from './session/snapshot-codec';

export type { Logger } from './log/logger';
export type { SecretSink } from './log/secret-registry';
export type { Timers } from './timers';

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
  /** The town's provider: its kind decides the wire format the runtime speaks to the broker's model proxy. */
  provider: ProviderConfig;
  /** The agent's model and its small model (titles, summaries): ./runtime/runtime-models.ts. */
  model: string;
  smallModel: string;
  /** Absolute path of the bundled plugin JS file. */
  pluginPath: string;
  instructions: string;
  logger: Logger;
  /**
   * A conversation to continue: before `serve` starts, `importFile` (the runtime's import
   * format) is imported as the agent and the session `sessionId` is used instead of a new one.
   * A failed import never fails the start: the run gets a fresh session (see `restoreOutcome`).
   */
  restore?: RuntimeRestore | null;
  /**
   * A step run once the run's sandbox lease exists and before `serve` starts (a rig's setup
   * command, ./supervisor/setup-command.ts): it runs commands as the agent — its uid, its
   * namespaces, in its workdir — but without the agent's broker key, server password or runtime
   * config in their environment. A rejection fails the start with that error.
   */
  prepare?: ((run: AgentCommandRunner) => Promise<void>) | null;
}

/** Runs a short command as the agent (see RuntimeOptions.prepare and AgentRuntime.runAsAgent). */
export type AgentCommandRunner = (file: string, args: string[], options: AgentCommandOptions) => Promise<AgentCommandResult>;

export interface RuntimeRestore {
  sessionId: string;
  /** `{info, messages}`: what `<runtime> import <file>` reads. */
  importFile: string;
}

/** What became of `RuntimeOptions.restore`. */
export type RestoreOutcome = { ok: true; sessionId: string; importMs: number } | { ok: false; error: GastownError };

export interface AgentCommandOptions {
  cwd: string;
  timeoutMs: number;
  /** Added to (and over) the agent's own environment. */
  env?: Record<string, string>;
}

/** A finished command; `code` is null when it was killed (timeout or signal). Output is redacted and capped. */
export interface AgentCommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface AgentRuntime {
  readonly pid: number | null;
  readonly sessionId: string | null;
  /** How strongly this run is sandboxed (reported in heartbeats and `agent.started`). */
  readonly isolation: IsolationLevel;
  /** Null until start() resolved, and when no restore was asked for. */
  readonly restoreOutcome: RestoreOutcome | null;
  /** Spawn `serve`, wait until listening, create the session (or continue the restored one). */
  start(): Promise<void>;
  /** Queue a user message into the same session (returns once accepted, not when the turn ends). */
  prompt(text: string): Promise<void>;
  onEvent(listener: (event: RuntimeEvent) => void): () => void;
  /** The session as the runtime exports it: `{session: GET /session/:id, messages: GET /session/:id/message}`. */
  exportSession(): Promise<SessionExport>;
  /**
   * Run a short command as the agent (its uid, namespaces and environment) through the run's
   * sandbox lease; rejects when the runtime is not running. A timeout kills it (`code` null).
   */
  runAsAgent(file: string, args: string[], options: AgentCommandOptions): Promise<AgentCommandResult>;
  /**
   * Put `text` into the session as a message that asks for no reply: no turn starts for it; the
   * model sees it at its next call (a nudge). Rejects when the runtime is not running.
   */
  note?(text: string): Promise<void>;
  /** Stop the process and every child (process group); resolves when gone. */
  stop(): Promise<void>;
}

export type RuntimeFactory = (options: RuntimeOptions) => AgentRuntime;
