import type { AgentIdentity, AgentRuntimeStatus, CredentialStatus, HeartbeatRequest, RuntimeState } from '@gastown/protocol';
import type { AgentRuntime, ControlPlaneClient, CredentialBroker, EventSink, HeartbeatLoop, Logger } from '../contracts';
import { credentialEvents } from './credential-events';
import type { StartAgent } from './types';

/** Live states: the run holds resources and accepts messages. */
const LIVE: ReadonlySet<RuntimeState> = new Set<RuntimeState>(['starting', 'running', 'idle']);

/**
 * One agent run (one generation of one agent) and the resources it owns.
 * State machine: starting → running ⇄ idle → exiting → exited | failed
 * (starting → failed when the start fails).
 */
export class AgentRun {
  readonly agent: AgentIdentity;
  readonly request: StartAgent;
  readonly startedAt: number;
  readonly broker: CredentialBroker;
  readonly log: Logger;
  state: RuntimeState = 'starting';
  activity: 'working' | 'waiting' = 'working';
  lastError: string | null = null;
  client: ControlPlaneClient | null = null;
  sink: EventSink | null = null;
  heartbeat: HeartbeatLoop | null = null;
  runtime: AgentRuntime | null = null;
  registered = false;
  runtimeStopped = false;
  workdir: string | null = null;
  branch: string | null = null;
  idleTimer: unknown = null;
  unsubscribe: (() => void) | null = null;
  /** Work that must finish before the run's broker stops (merge callbacks). */
  readonly pending = new Set<Promise<void>>();
  /** Resolves once the runtime is up and the first prompt accepted; rejects if the start fails. */
  readonly ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: unknown) => void;
  #lastCredential: CredentialStatus;
  #finalCredential: CredentialStatus | null = null;

  constructor(request: StartAgent, broker: CredentialBroker, startedAt: number, log: Logger) {
    this.request = request;
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
  isLive(): boolean {
    return LIVE.has(this.state);
  }

  markReady(): void {
    this.#resolveReady();
  }
  markStartFailed(error: unknown): void {
    this.#rejectReady(error);
  }

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
    for (const event of credentialEvents(this.#lastCredential, next)) this.sink?.record(event.type, event.data);
    this.#lastCredential = next;
  }

  status(): AgentRuntimeStatus {
    return {
      agentId: this.agent.id,
      role: this.agent.role,
      gen: this.agent.gen,
      runtimeState: this.state,
      activity: this.activity,
      pid: this.runtime?.pid ?? null,
      sessionId: this.runtime?.sessionId ?? null,
      startedAt: this.startedAt,
      credential: this.credential(),
      lastError: this.lastError,
    };
  }

  heartbeatRequest(instanceId: string): HeartbeatRequest {
    this.observeCredential();
    return {
      containerInstanceId: instanceId,
      runtimeState: this.state,
      activity: this.activity,
      credential: this.credential(),
      pid: this.runtime?.pid ?? null,
      sessionId: this.runtime?.sessionId ?? null,
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
