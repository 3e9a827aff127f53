import type { AgentIdentity, AgentRuntimeStatus, CredentialStatus, HeartbeatRequest } from '@gastown/protocol';
import type { ControlPlaneClient } from '../broker/control-plane-client';
import type { CredentialBroker } from '../broker/credential-broker';
import type { EventSink } from '../consumers/event-sink';
import type { HeartbeatLoop } from '../consumers/heartbeat-loop';
import type { AgentRuntime, RuntimeEvent } from '../contracts';
import type { Logger } from '../log/logger';
import type { RuntimeModels } from '../runtime/runtime-models';
import { credentialEvents } from './credential-events';
import type { MayorSession } from './mayor-session';
import { INITIAL_LIFECYCLE, isLive, transition, type RunActivity, type RunEvent, type RunLifecycle, type RunState } from './run-lifecycle';
import type { StartAgent } from './types';

/** What applying an event did: the lifecycle before and after. */
export interface RunStep {
  readonly from: RunLifecycle;
  readonly to: RunLifecycle;
}

/**
 * One agent run (one generation of one agent) and the resources it owns. Its lifecycle
 * changes only through `apply` (see ./run-lifecycle); the supervisor does the I/O.
 */
export class AgentRun {
  readonly agent: AgentIdentity;
  readonly request: StartAgent;
  /** The run's model and small model (the only ones the model proxy lets it name). */
  readonly models: RuntimeModels;
  readonly startedAt: number;
  readonly broker: CredentialBroker;
  readonly log: Logger;
  /** Resolves once the runtime is up and the first prompt accepted; rejects if the start fails. */
  readonly ready: Promise<void>;
  #lifecycle: RunLifecycle = INITIAL_LIFECYCLE;
  #lastError: string | null = null;
  #client: ControlPlaneClient | null = null;
  #sink: EventSink | null = null;
  #heartbeat: HeartbeatLoop | null = null;
  #runtime: AgentRuntime | null = null;
  #session: MayorSession | null = null;
  #unsubscribe: (() => void) | null = null;
  #runtimeStopped = false;
  #registered = false;
  #workdir: string | null = null;
  #branch: string | null = null;
  #idleTimer: unknown = null;
  #detachGitTokens: (() => void) | null = null;
  /** Work that must finish before the run's broker stops (merge callbacks). */
  readonly #pending = new Set<Promise<void>>();
  #resolveReady!: () => void;
  #rejectReady!: (error: unknown) => void;
  #lastCredential: CredentialStatus;
  #finalCredential: CredentialStatus | null = null;
  /** Set by a stop after the turn (spend cap): the reason the run will end with. */
  #stopAfterTurn: string | null = null;

  constructor(request: StartAgent, models: RuntimeModels, broker: CredentialBroker, startedAt: number, log: Logger) {
    this.request = request;
    this.models = models;
    this.agent = request.agent;
    this.broker = broker;
    this.startedAt = startedAt;
    this.log = log;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => undefined); // observed by whoever awaits it
    this.#lastCredential = broker.status();
  }

  get id(): string {
    return this.agent.id;
  }
  get gen(): number {
    return this.agent.gen;
  }
  get role(): AgentIdentity['role'] {
    return this.agent.role;
  }

  // ---- lifecycle -------------------------------------------------------------------

  get state(): RunState {
    return this.#lifecycle.state;
  }
  get activity(): RunActivity {
    return this.#lifecycle.activity;
  }
  isLive(): boolean {
    return isLive(this.#lifecycle.state);
  }

  /** Apply a lifecycle event. Null when the state ignores it; throws RunLifecycleError when it does not allow it. */
  apply(event: RunEvent): RunStep | null {
    const from = this.#lifecycle;
    const to = transition(from, event);
    if (to === null) return null;
    this.#lifecycle = to;
    return { from, to };
  }

  /**
   * Stop once the turn in flight is over: from now on the model proxy refuses this run's model
   * calls, and the supervisor ends the run at the first refusal or session idle.
   */
  stopAfterTurn(reason: string): void {
    this.#stopAfterTurn ??= reason;
  }
  /** The reason of a pending stop after the turn, or null. */
  get stopAfterTurnReason(): string | null {
    return this.#stopAfterTurn;
  }

  get lastError(): string | null {
    return this.#lastError;
  }
  /** The latest thing that went wrong, as shown in the run's status. */
  noteError(message: string): void {
    this.#lastError = message;
  }

  markReady(): void {
    this.#resolveReady();
  }
  markStartFailed(error: unknown): void {
    this.#rejectReady(error);
  }

  // ---- resources -------------------------------------------------------------------

  get client(): ControlPlaneClient | null {
    return this.#client;
  }
  get sink(): EventSink | null {
    return this.#sink;
  }
  get heartbeat(): HeartbeatLoop | null {
    return this.#heartbeat;
  }
  get runtime(): AgentRuntime | null {
    return this.#runtime;
  }
  /** The mayor's durable conversation (null for other roles). Its `lastSave` says what the last save stored. */
  get session(): MayorSession | null {
    return this.#session;
  }
  get workdir(): string | null {
    return this.#workdir;
  }
  get branch(): string | null {
    return this.#branch;
  }

  /** The run's authenticated client and the consumers built on it. */
  attachConsumers(consumers: { client: ControlPlaneClient; sink: EventSink; heartbeat: HeartbeatLoop }): void {
    this.#client = consumers.client;
    this.#sink = consumers.sink;
    this.#heartbeat = consumers.heartbeat;
  }

  attachSession(session: MayorSession): void {
    this.#session = session;
  }

  /** The directory the agent works in (scratch dir, worktree or clone) and, for a polecat, its branch. */
  setWorkspace(workdir: string, branch: string | null = null): void {
    this.#workdir = workdir;
    this.#branch = branch;
  }

  /** The run's broker key is registered with the local broker API. */
  markRegistered(): void {
    this.#registered = true;
  }
  /** True once after `markRegistered`: the caller unregisters the key. */
  takeRegistration(): boolean {
    const registered = this.#registered;
    this.#registered = false;
    return registered;
  }

  attachRuntime(runtime: AgentRuntime, listener: (event: RuntimeEvent) => void): void {
    this.#runtime = runtime;
    this.#unsubscribe = runtime.onEvent(listener);
  }
  /** The runtime to stop, once: null when there is none or it was already taken. */
  takeRuntimeToStop(): AgentRuntime | null {
    if (!this.#runtime || this.#runtimeStopped) return null;
    this.#runtimeStopped = true;
    return this.#runtime;
  }
  /** Stop listening to the runtime's events. */
  detachRuntime(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** The run is a source of its rig's git tokens until `detachGitTokens` (teardown). */
  attachGitTokens(detach: () => void): void {
    this.#detachGitTokens = detach;
  }
  detachGitTokens(): void {
    this.#detachGitTokens?.();
    this.#detachGitTokens = null;
  }

  armIdleTimer(handle: unknown): void {
    this.#idleTimer = handle;
  }
  /** The armed idle timer (to clear it), once; null when none is armed. */
  takeIdleTimer(): unknown {
    const handle = this.#idleTimer;
    this.#idleTimer = null;
    return handle;
  }

  /** Keep `job` until it settles; `settlePending` waits for every such job. */
  track(job: Promise<void>): void {
    this.#pending.add(job);
    void job.finally(() => this.#pending.delete(job));
  }
  async settlePending(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }

  // ---- credential and status -------------------------------------------------------

  /** The broker's status; after the broker stopped, the last one seen before. */
  credential(): CredentialStatus {
    return this.#finalCredential ?? this.#safeCredential() ?? this.#lastCredential;
  }

  /** Freeze the credential status (called right before the broker stops). */
  freezeCredential(): void {
    this.#finalCredential = this.#safeCredential() ?? this.#lastCredential;
  }

  /** Record credential events for any change since the last look. */
  observeCredential(): void {
    if (this.#finalCredential) return;
    const next = this.#safeCredential();
    if (!next) return;
    for (const event of credentialEvents(this.#lastCredential, next)) this.#sink?.emit(event.type, event.data);
    this.#lastCredential = next;
  }

  status(): AgentRuntimeStatus {
    return {
      agentId: this.agent.id,
      role: this.agent.role,
      gen: this.agent.gen,
      runtimeState: this.state,
      activity: this.activity,
      pid: this.#runtime?.pid ?? null,
      sessionId: this.#runtime?.sessionId ?? null,
      startedAt: this.startedAt,
      credential: this.credential(),
      lastError: this.#lastError,
    };
  }

  /** The run's heartbeat (records credential events first); the heartbeat loop sends it with the broker's status. */
  heartbeatRequest(instanceId: string): HeartbeatRequest {
    this.observeCredential();
    return {
      containerInstanceId: instanceId,
      runtimeState: this.state,
      activity: this.activity,
      credential: this.credential(),
      pid: this.#runtime?.pid ?? null,
      sessionId: this.#runtime?.sessionId ?? null,
      ...(this.#runtime ? { isolation: this.#runtime.isolation } : {}),
    };
  }

  #safeCredential(): CredentialStatus | null {
    try {
      return this.broker.status();
    } catch (error) {
      this.log.warn('supervisor.credential_status_failed', { error: error instanceof Error ? error.message : String(error) });
      return null;
    }
  }
}
