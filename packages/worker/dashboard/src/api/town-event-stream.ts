import type { TownEvent } from '@gastown/protocol';
import { ApiError } from './api-error';
import type { ApiClient } from './api-client';
import { SseParser } from '@gastown/protocol/sse-parser';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface TownEventStreamOptions {
  client: Pick<ApiClient, 'openEventStream'>;
  townId: string;
  /** Events with an id above this are delivered first (0: the whole history). */
  after?: number;
  onEvent(event: TownEvent): void;
  onState(state: StreamState, detail: string | null): void;
  /** The user token was refused (401): the stream stops for good. */
  onAuthFailure(error: ApiError): void;
  timers?: Timers;
  random?: () => number;
}

const MAX_BACKOFF_MS = 30_000;
const BASE_BACKOFF_MS = 1_000;
/** After the server ends a healthy stream (it does every few minutes), reconnect after this. */
const RESUME_DELAY_MS = 250;

/**
 * The town's live event feed over `fetch` + a streamed body (so the token travels in the
 * Authorization header, never in a URL). Resumes with Last-Event-ID after the server closes the
 * stream or the network drops; backs off with full jitter on errors. No polling: one request
 * stays open, and a new one is made only when that one ends.
 */
export class TownEventStream {
  #opts: TownEventStreamOptions;
  #timers: Timers;
  #random: () => number;
  #abort: AbortController | null = null;
  #retryHandle: unknown = null;
  #failures = 0;
  #stopped = false;
  #lastId: number;

  constructor(opts: TownEventStreamOptions) {
    this.#opts = opts;
    this.#timers = opts.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) };
    this.#random = opts.random ?? Math.random;
    this.#lastId = opts.after ?? 0;
  }

  /** The id of the last event delivered. */
  get lastEventId(): number {
    return this.#lastId;
  }

  start(): void {
    this.#stopped = false;
    void this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#retryHandle !== null) this.#timers.clearTimeout(this.#retryHandle);
    this.#retryHandle = null;
    this.#abort?.abort();
    this.#abort = null;
    this.#opts.onState('stopped', null);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#retryHandle = null;
    const abort = new AbortController();
    this.#abort = abort;
    this.#opts.onState(this.#failures === 0 ? 'connecting' : 'reconnecting', null);
    try {
      const res = await this.#opts.client.openEventStream(this.#opts.townId, String(this.#lastId), abort.signal);
      this.#opts.onState('live', null);
      this.#failures = 0;
      await this.#read(res, abort.signal);
      if (!this.#stopped) this.#schedule(RESUME_DELAY_MS, 'the server ended the stream; resuming');
    } catch (err) {
      if (this.#stopped || abort.signal.aborted) return;
      if (err instanceof ApiError && err.isAuthFailure) {
        this.#stopped = true;
        this.#opts.onState('stopped', `${err.code}: ${err.message}`);
        this.#opts.onAuthFailure(err);
        return;
      }
      if (err instanceof ApiError && (err.status === 404 || err.status === 403)) {
        this.#stopped = true;
        this.#opts.onState('stopped', `${err.code}: ${err.message}`);
        return;
      }
      this.#failures += 1;
      const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (this.#failures - 1));
      const detail = err instanceof ApiError ? `${err.code}: ${err.message}` : 'the stream was interrupted';
      this.#schedule(Math.round(this.#random() * ceiling), detail);
    }
  }

  #schedule(delayMs: number, detail: string): void {
    this.#opts.onState('reconnecting', detail);
    this.#retryHandle = this.#timers.setTimeout(() => void this.#connect(), delayMs);
  }

  async #read(res: Response, signal: AbortSignal): Promise<void> {
    if (!res.body) return;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    const cancel = () => void reader.cancel().catch(() => undefined);
    signal.addEventListener('abort', cancel, { once: true });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const sse of parser.push(decoder.decode(value, { stream: true }))) this.#deliver(sse.data);
      }
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  #deliver(data: string): void {
    let event: TownEvent;
    try {
      event = JSON.parse(data) as TownEvent;
    } catch {
      return; // not one of ours; the id stays where it was
    }
    if (typeof event.id !== 'number' || event.id <= this.#lastId) return;
    this.#lastId = event.id;
    this.#opts.onEvent(event);
  }
}
