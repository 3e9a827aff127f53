/**
 * Batched, bounded, retried event persistence through the authenticated client.
 *
 * - Batches: flush every `flushIntervalMs` or as soon as `maxBatch` events wait.
 * - Bounded: at most `maxBuffer` events wait; when full, the OLDEST non-essential event is
 *   dropped (the oldest of all if every event is essential) and counted. The next successful
 *   flush carries a synthetic `events.dropped` event with the count.
 * - Retried with full-jitter backoff; every event has a client id, so a retry of a batch the
 *   server already stored is deduplicated there.
 * - `flush()` drains what it can now (shutdown).
 * - Redacted: every event is passed through `redactEvent` (registered secrets and token patterns)
 *   before it enters the buffer, so nothing secret is ever held for sending.
 */
import { GastownError, LIMITS, MODEL_USAGE_EVENT, codeOf } from '@gastown/protocol';
import type { AgentEvent, Clock, RandomSource } from '@gastown/protocol';
import type { ControlPlaneClient } from '../broker/control-plane-client';
import { backoffDelayMs } from '../broker/refresh-schedule';
import type { Logger } from '../log/logger';
import type { SecretSource } from '../log/secret-registry';
import type { Timers } from '../timers';
import { NO_SECRETS, redactEvent } from './redact-event';
import { isRetryable } from './retry';

export const DEFAULT_FLUSH_INTERVAL_MS = 1_000;
export const DEFAULT_MAX_BATCH = 100;
export const DEFAULT_MAX_BUFFER = 5_000;
/** Keep each request comfortably under the control plane's body limit. */
export const MAX_BATCH_BYTES = Math.floor(LIMITS.maxBodyBytes * 0.75);
export const DROPPED_EVENT_TYPE = 'events.dropped';

/** Lifecycle events and model usage (what the town is billed) are essential; chatter (text parts, tool progress…) is not. */
export const ESSENTIAL_EVENT_PREFIXES: readonly string[] = [
  'agent.',
  'session.',
  'credential.',
  'bead.',
  'merge.',
  'completion.',
  'events.',
  'git.credentials_',
  'model.',
];
/** Refusals of the agent's standing rather than of the batch: every later batch of this run gets the same answer. */
const STANDING_REFUSALS: ReadonlySet<string> = new Set(['token_revoked', 'token_scope', 'refresh_invalid', 'refresh_reused', 'role_forbidden']);

function isModelUsage(event: AgentEvent): boolean {
  return event.type === MODEL_USAGE_EVENT;
}

export function isEssentialByDefault(event: AgentEvent): boolean {
  return ESSENTIAL_EVENT_PREFIXES.some((prefix) => event.type.startsWith(prefix));
}

export interface EventSinkOptions {
  client: Pick<ControlPlaneClient, 'events'>;
  clock: Clock;
  random: RandomSource;
  timers: Timers;
  logger: Logger;
  flushIntervalMs?: number;
  maxBatch?: number;
  maxBuffer?: number;
  isEssential?: (event: AgentEvent) => boolean;
  /** The container's secret registry; every event payload is redacted with it. Without it only the token patterns apply. */
  secrets?: SecretSource;
}

export interface EventSinkStats {
  buffered: number;
  sent: number;
  droppedTotal: number;
  /** Drops not yet reported to the control plane. */
  droppedUnreported: number;
  consecutiveFailures: number;
}

/** Where an agent run's events go: buffered, shipped in batches through the client; retries keep ids (dedup upstream). */
export interface EventSink {
  /** A new event with a fresh client id, redacted and queued; returns the event as queued. */
  emit(type: string, data?: Record<string, unknown>): AgentEvent;
  /** Ship everything buffered now; true when nothing is left (never throws). */
  flush(): Promise<boolean>;
  /** Flush, then stop timers; later events are counted as dropped. */
  close(): Promise<boolean>;
}

export type EventSinkFactory = (options: EventSinkOptions) => EventSink;

export function createEventSink(options: EventSinkOptions): EventSink {
  return new BatchingEventSink(options);
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export class BatchingEventSink implements EventSink {
  readonly #o: EventSinkOptions;
  readonly #log: Logger;
  readonly #flushIntervalMs: number;
  readonly #maxBatch: number;
  readonly #maxBuffer: number;
  readonly #isEssential: (event: AgentEvent) => boolean;
  readonly #secrets: SecretSource;
  #buffer: AgentEvent[] = [];
  #seq = 0;
  #timer: unknown = null;
  #timerAt: number | null = null;
  #inFlight: Promise<boolean> | null = null;
  #consecutiveFailures = 0;
  #retryAt: number | null = null;
  #sent = 0;
  #droppedTotal = 0;
  #droppedUnreported = 0;
  /** The `events.dropped` event in flight or awaiting retry: same id on every retry. */
  #dropReport: AgentEvent | null = null;
  #closed = false;

  constructor(options: EventSinkOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'event-sink' });
    this.#flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    this.#maxBatch = Math.min(options.maxBatch ?? DEFAULT_MAX_BATCH, LIMITS.maxEventsPerBatch);
    this.#maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
    this.#isEssential = options.isEssential ?? isEssentialByDefault;
    this.#secrets = options.secrets ?? NO_SECRETS;
    if (this.#maxBatch < 2 || this.#maxBuffer < 1 || this.#flushIntervalMs <= 0) throw new GastownError('config_invalid', 'invalid EventSink limits');
  }

  get stats(): EventSinkStats {
    return {
      buffered: this.#buffer.length,
      sent: this.#sent,
      droppedTotal: this.#droppedTotal,
      droppedUnreported: this.#droppedUnreported,
      consecutiveFailures: this.#consecutiveFailures,
    };
  }

  /** A new event with a fresh client id, redacted and queued; returns the event as queued. */
  emit(type: string, data: Record<string, unknown> = {}): AgentEvent {
    return this.push({ id: this.#newId(), type, at: this.#o.clock.now(), data });
  }

  /**
   * Redact an event and queue it (its id is kept, so re-pushing the same event is deduplicated
   * downstream). Returns the event as queued.
   */
  push(event: AgentEvent): AgentEvent {
    const redacted = redactEvent(event, this.#secrets);
    if (this.#closed) {
      this.#drop(1, 'closed');
      return redacted;
    }
    this.#buffer.push(redacted);
    this.#enforceBound();
    this.#plan();
    return redacted;
  }

  /** Send everything buffered now, one attempt per batch. True when nothing is left. */
  async flush(): Promise<boolean> {
    this.#clearTimer();
    for (;;) {
      if (this.#buffer.length === 0 && this.#droppedUnreported === 0) return true;
      const ok = await this.#sendOnce();
      if (!ok) {
        this.#plan(); // the backoff retry takes over
        return false;
      }
    }
  }

  /** Stop timers and flush (shutdown). Later events are counted as dropped. */
  async close(): Promise<boolean> {
    const ok = await this.flush();
    this.#closed = true;
    this.#clearTimer();
    return ok;
  }

  // ---- internals -------------------------------------------------------------------

  #newId(): string {
    this.#seq += 1;
    let rand = '';
    for (let i = 0; i < 10; i += 1) rand += ID_ALPHABET[Math.floor(this.#o.random() * ID_ALPHABET.length) % ID_ALPHABET.length];
    return `ev_${this.#o.clock.now().toString(36)}_${this.#seq.toString(36)}_${rand}`;
  }

  #enforceBound(): void {
    while (this.#buffer.length > this.#maxBuffer) {
      let index = this.#buffer.findIndex((e) => !this.#isEssential(e));
      if (index < 0) index = 0;
      this.#buffer.splice(index, 1);
      this.#drop(1, 'buffer full');
    }
  }

  /** Count dropped events; `report: false` when no `events.dropped` report could be delivered either. */
  #drop(count: number, reason: string, options: { report: boolean } = { report: true }): void {
    if (this.#droppedUnreported === 0) this.#log.warn('events.dropping', { reason, maxBuffer: this.#maxBuffer });
    this.#droppedTotal += count;
    if (options.report) this.#droppedUnreported += count;
  }

  /** Decide when the next automatic send happens. */
  #plan(): void {
    if (this.#closed || this.#inFlight !== null) return;
    const now = this.#o.clock.now();
    let at: number | null;
    if (this.#buffer.length === 0 && this.#droppedUnreported === 0) at = null;
    else if (this.#retryAt !== null) at = Math.max(now, this.#retryAt);
    else if (this.#buffer.length >= this.#maxBatch) at = now;
    else at = this.#timerAt ?? now + this.#flushIntervalMs;
    if (at === this.#timerAt) return;
    this.#clearTimer();
    if (at === null) return;
    this.#timerAt = at;
    this.#timer = this.#o.timers.setTimeout(() => this.#onTimer(), at - now);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = null;
  }

  async #onTimer(): Promise<void> {
    this.#timer = null;
    this.#timerAt = null;
    await this.#sendOnce();
    this.#plan();
  }

  /** One batch, single-flight. True on success (or when the batch was discarded as unsendable). */
  #sendOnce(): Promise<boolean> {
    if (this.#inFlight !== null) return this.#inFlight;
    const run = this.#send().finally(() => {
      this.#inFlight = null;
    });
    this.#inFlight = run;
    return run;
  }

  async #send(): Promise<boolean> {
    if (this.#dropReport === null && this.#droppedUnreported > 0) {
      this.#dropReport = { id: this.#newId(), type: DROPPED_EVENT_TYPE, at: this.#o.clock.now(), data: { count: this.#droppedUnreported } };
    }
    const dropReport = this.#dropReport;
    const batch = this.#takeBatch(dropReport === null ? this.#maxBatch : this.#maxBatch - 1);
    const payload = dropReport === null ? batch : [dropReport, ...batch];
    if (payload.length === 0) return true;
    try {
      const result = await this.#o.client.events(payload);
      this.#sent += batch.length;
      if (dropReport !== null) {
        this.#droppedUnreported -= dropReport.data['count'] as number;
        this.#dropReport = null;
      }
      this.#consecutiveFailures = 0;
      this.#retryAt = null;
      if (result.duplicates > 0) this.#log.debug('events.duplicates', { duplicates: result.duplicates });
      return true;
    } catch (err) {
      const code = codeOf(err);
      if (!isRetryable(err)) {
        // The batch itself is unacceptable: retrying would wedge the sink. Count it as dropped —
        // except the usage of model calls already made: a run declared lost or stopped while its
        // events waited here still spent that money, and the control plane takes a usage-only
        // batch from an earlier generation of the agent (worker agent-authorization.ts).
        const usage = batch.filter(isModelUsage);
        const delivered = usage.length > 0 && usage.length < payload.length ? await this.#sendUsageOnly(usage) : false;
        const lost = delivered ? batch.length - usage.length : batch.length;
        this.#log.error('events.rejected', { code, events: lost, usageDelivered: delivered ? usage.length : 0, dropReport: dropReport !== null });
        if (dropReport !== null) {
          // the report went down with the batch; sending it again would be refused the same way (and,
          // in a flush loop, at once and forever): its count stays in the log and in droppedTotal
          this.#droppedUnreported -= dropReport.data['count'] as number;
          this.#dropReport = null;
        }
        // refused for the agent's standing (revoked, another scope): no later report would be taken either
        if (lost > 0) this.#drop(lost, code, { report: !STANDING_REFUSALS.has(code) });
        return true;
      }
      this.#buffer.unshift(...batch);
      this.#enforceBound();
      const delayMs = backoffDelayMs(this.#consecutiveFailures, this.#o.random);
      this.#consecutiveFailures += 1;
      this.#retryAt = this.#o.clock.now() + delayMs;
      this.#log.warn('events.flush_failed', { code, buffered: this.#buffer.length, consecutiveFailures: this.#consecutiveFailures, retryInMs: delayMs });
      return false;
    }
  }

  /** One attempt to deliver only the usage events of a rejected batch; true when they were taken. */
  async #sendUsageOnly(usage: AgentEvent[]): Promise<boolean> {
    try {
      await this.#o.client.events(usage);
      this.#sent += usage.length;
      return true;
    } catch {
      return false;
    }
  }

  /** Up to `max` events from the front of the buffer, within the byte budget (at least one). */
  #takeBatch(max: number): AgentEvent[] {
    let count = 0;
    let bytes = 0;
    while (count < Math.min(max, this.#buffer.length)) {
      const size = JSON.stringify(this.#buffer[count]).length + 1;
      if (count > 0 && bytes + size > MAX_BATCH_BYTES) break;
      bytes += size;
      count += 1;
    }
    return this.#buffer.splice(0, count);
  }
}
