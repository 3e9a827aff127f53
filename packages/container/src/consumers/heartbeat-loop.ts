/**
 * Sends the agent's heartbeat every `intervalMs` (default 30 s) through the authenticated
 * client: runtime snapshot + the broker's credential status. A failed beat is logged and the
 * loop keeps going; it never stops on its own.
 */
import { GastownError, codeOf } from '@gastown/protocol';
import type { HeartbeatRequest, HeartbeatResponse } from '@gastown/protocol';
import type { ControlPlaneClient } from '../broker/control-plane-client';
import type { CredentialBroker } from '../broker/credential-broker';
import type { Logger } from '../log/logger';
import type { Timers } from '../timers';

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;

export type RuntimeSnapshot = Omit<HeartbeatRequest, 'credential'>;

export interface HeartbeatLoopOptions {
  client: Pick<ControlPlaneClient, 'heartbeat'>;
  broker: Pick<CredentialBroker, 'status'>;
  snapshot: () => RuntimeSnapshot;
  timers: Timers;
  logger: Logger;
  intervalMs?: number;
  onResponse?: (response: HeartbeatResponse) => void;
}

/** Periodic heartbeat of one agent run; `snapshot` is read at every beat. */
export interface HeartbeatLoop {
  /** Beat now, then every interval. Idempotent. */
  start(): void;
  /** One heartbeat now (state changes such as idle → waiting); never throws: null when it failed. */
  beat(): Promise<HeartbeatResponse | null>;
  stop(): void;
}

export type HeartbeatLoopFactory = (options: HeartbeatLoopOptions) => HeartbeatLoop;

export function createHeartbeatLoop(options: HeartbeatLoopOptions): HeartbeatLoop {
  return new PeriodicHeartbeatLoop(options);
}

export class PeriodicHeartbeatLoop implements HeartbeatLoop {
  readonly #o: HeartbeatLoopOptions;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: unknown = null;
  #running = false;
  #consecutiveFailures = 0;
  #sent = 0;

  constructor(options: HeartbeatLoopOptions) {
    const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new GastownError('config_invalid', 'heartbeat intervalMs must be positive');
    this.#o = options;
    this.#intervalMs = intervalMs;
    this.#log = options.logger.child({ component: 'heartbeat' });
  }

  get stats(): { sent: number; consecutiveFailures: number } {
    return { sent: this.#sent, consecutiveFailures: this.#consecutiveFailures };
  }

  /** Beat now, then every interval. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== null) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** One heartbeat; resolves to the response, or null when it failed (already logged). */
  async beat(): Promise<HeartbeatResponse | null> {
    try {
      const response = await this.#o.client.heartbeat({ ...this.#o.snapshot(), credential: this.#o.broker.status() });
      this.#sent += 1;
      if (this.#consecutiveFailures > 0) this.#log.info('heartbeat.recovered', { afterFailures: this.#consecutiveFailures });
      this.#consecutiveFailures = 0;
      this.#o.onResponse?.(response);
      return response;
    } catch (err) {
      this.#consecutiveFailures += 1;
      this.#log.warn('heartbeat.failed', { code: codeOf(err), consecutiveFailures: this.#consecutiveFailures });
      return null;
    }
  }

  #schedule(ms: number): void {
    if (!this.#running) return;
    this.#timer = this.#o.timers.setTimeout(() => this.#tick(), ms);
  }

  /** Returns the beat so a manual timer driver can await it. */
  async #tick(): Promise<void> {
    this.#timer = null;
    await this.beat();
    this.#schedule(this.#intervalMs);
  }
}
