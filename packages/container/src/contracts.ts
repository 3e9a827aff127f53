/**
 * The agent runtime's contract: what the supervisor asks of an opencode/kilo adapter
 * (implemented in src/runtime). Every other interface lives beside the module that
 * implements it (broker/, consumers/, git/, log/, broker-api/, timers.ts); the three shared
 * ones are re-exported here for the modules that import them from this file.
 */
import type { AgentIdentity, IsolationLevel, ProviderConfig, RuntimeKind } from '@gastown/protocol';
import type { Logger } from './log/logger';

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
  provider: ProviderConfig;
  /** Absolute path of the bundled plugin JS file. */
  pluginPath: string;
  instructions: string;
  logger: Logger;
}

export interface AgentRuntime {
  readonly pid: number | null;
  readonly sessionId: string | null;
  /** How strongly this run is sandboxed (reported in heartbeats and `agent.started`). */
  readonly isolation: IsolationLevel;
  /** Spawn `serve`, wait until listening, create the session. */
  start(): Promise<void>;
  /** Queue a user message into the same session (returns once accepted, not when the turn ends). */
  prompt(text: string): Promise<void>;
  onEvent(listener: (event: RuntimeEvent) => void): () => void;
  /** Stop the process and every child (process group); resolves when gone. */
  stop(): Promise<void>;
}

export type RuntimeFactory = (options: RuntimeOptions) => AgentRuntime;
