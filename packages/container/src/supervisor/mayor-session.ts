/**
 * The mayor's durable conversation, for one run (issue 12): loaded from the control plane
 * before the runtime starts, and saved back after every accepted message, when the mayor goes
 * waiting, and before the runtime stops.
 *
 * - Restore: GET the snapshot → decode → the runtime's `restore` option. None stored → a fresh
 *   session. Any failure (snapshot_corrupt, control plane unavailable, import failed) → event
 *   `session.restore_failed` {code, message} and a fresh session: never a failed start.
 * - Saves of the run are serialised and coalesced: one running, at most one queued behind it
 *   (every request made meanwhile is answered by that one). A failed save is logged and
 *   recorded as `session.save_failed` {reason, code}; it never fails the caller.
 * - Every string of the snapshot is redacted with the run's secrets (snapshot codec).
 */
import { asGastownError, codeOf, type Clock, type RuntimeKind, type SessionMessage, type SessionSaveReason } from '@gastown/protocol';
import type { ControlPlaneClient } from '../broker/control-plane-client';
import type { EventSink } from '../consumers/event-sink';
import type { AgentRuntime, RuntimeRestore } from '../contracts';
import type { Logger } from '../log/logger';
import { redactString } from '../log/redact';
import { RuntimeError } from '../runtime/errors';
import { countTurns, decodeSnapshot, encodeSnapshot, toImportFile, type SessionExport } from '../session/snapshot-codec';
import type { Timers } from '../timers';

/** How long a message save waits for the runtime to show the message in its session. */
export const MESSAGE_VISIBLE_TIMEOUT_MS = 3_000;
export const MESSAGE_POLL_INTERVAL_MS = 100;
const MAX_MESSAGE_CHARS = 300;
/** Pauses before the 2nd and 3rd GET of a stored snapshot after a transient failure. */
export const RESTORE_RETRY_DELAYS_MS: readonly number[] = [500, 1_500];
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['control_plane_unavailable', 'upstream_failed', 'rate_limited']);

export interface MayorSessionDeps {
  client: Pick<ControlPlaneClient, 'getSession' | 'putSession'>;
  sink: Pick<EventSink, 'emit'>;
  runtimeKind: RuntimeKind;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  /** The run's secrets now (the registry's values): snapshots and messages are redacted with them. */
  secrets: () => readonly string[];
  messageVisibleTimeoutMs?: number;
  messagePollIntervalMs?: number;
}

/** What the last successful save stored. */
export interface SessionSaveSummary {
  savedAt: number;
  bytes: number;
  turns: number;
  reason: SessionSaveReason;
}

interface Loaded {
  sessionId: string;
  turns: number;
  messages: number;
  bytes: number;
  loadMs: number;
}

interface Queued {
  reason: SessionSaveReason;
  done: Promise<void>;
  resolve: () => void;
}

export class MayorSession {
  readonly #d: MayorSessionDeps;
  readonly #log: Logger;
  #runtime: AgentRuntime | null = null;
  #loaded: Loaded | null = null;
  /** droppedTurns of the snapshot this run was restored from. */
  #droppedBefore = 0;
  #current: Promise<void> | null = null;
  #queued: Queued | null = null;
  #closed = false;
  #lastSave: SessionSaveSummary | null = null;
  /** User messages per text in the last export seen: a message save waits for one more. */
  #userTexts = new Map<string, number>();

  constructor(deps: MayorSessionDeps) {
    this.#d = deps;
    this.#log = deps.logger.child({ component: 'mayor-session' });
  }

  get lastSave(): SessionSaveSummary | null {
    return this.#lastSave;
  }

  /** The stored conversation as the runtime's restore option; null for a fresh session (none stored, or it could not be used). */
  async load(): Promise<RuntimeRestore | null> {
    const startedAt = this.#d.clock.now();
    try {
      const stored = await this.#fetchStored();
      if (stored === null) {
        this.#log.info('session.none_stored');
        return null;
      }
      const snapshot = await decodeSnapshot(stored.bytes, stored.sha256, { runtime: this.#d.runtimeKind });
      this.#droppedBefore = snapshot.droppedTurns;
      this.#loaded = {
        sessionId: snapshot.sessionId,
        turns: countTurns(snapshot.messages),
        messages: snapshot.messages.length,
        bytes: stored.bytes.byteLength,
        loadMs: this.#d.clock.now() - startedAt,
      };
      this.#noteUserTexts(snapshot.messages);
      return { sessionId: snapshot.sessionId, importFile: toImportFile(snapshot) };
    } catch (error) {
      this.#restoreFailed(error);
      return null;
    }
  }

  /**
   * GET the stored snapshot; a transient failure (the control plane or its store briefly
   * unavailable) is retried after RESTORE_RETRY_DELAYS_MS, since giving up means this run starts a
   * new conversation whose first save replaces the stored one.
   */
  async #fetchStored(): ReturnType<MayorSessionDeps['client']['getSession']> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#d.client.getSession();
      } catch (error) {
        const delay = RESTORE_RETRY_DELAYS_MS[attempt];
        if (delay === undefined || !TRANSIENT_CODES.has(codeOf(error, 'internal'))) throw error;
        this.#log.warn('session.restore_retry', { attempt: attempt + 1, code: codeOf(error, 'internal'), delayMs: delay });
        await new Promise<void>((resolve) => this.#d.timers.setTimeout(resolve, delay));
      }
    }
  }

  /** The runtime has started: report how its restore went, and save through it from now on. */
  attach(runtime: AgentRuntime): void {
    this.#runtime = runtime;
    const loaded = this.#loaded;
    const outcome = runtime.restoreOutcome;
    if (!loaded || !outcome) return;
    if (!outcome.ok) {
      // the conversation was not carried over: this run's saves start a new one
      this.#droppedBefore = 0;
      this.#userTexts = new Map();
      this.#restoreFailed(outcome.error);
      return;
    }
    const data = {
      sessionId: outcome.sessionId,
      turns: loaded.turns,
      messages: loaded.messages,
      bytes: loaded.bytes,
      ms: loaded.loadMs + outcome.importMs,
      importMs: outcome.importMs,
    };
    this.#log.info('session.restored', data);
    this.#d.sink.emit('session.restored', data);
  }

  /** How many user messages with this text the session held at the last look: take it before the message is sent. */
  messageBaseline(text: string): number {
    return this.#userTexts.get(text) ?? 0;
  }

  /**
   * After a message was accepted: wait (bounded) until the runtime's session holds one more user
   * message with its text than `baseline`, then save. Resolves once that save is done (or
   * failed); never rejects.
   */
  async saveAfterMessage(text: string, baseline: number): Promise<void> {
    if (this.#closed) return;
    const startedAt = this.#d.clock.now();
    const deadline = startedAt + (this.#d.messageVisibleTimeoutMs ?? MESSAGE_VISIBLE_TIMEOUT_MS);
    for (;;) {
      const exported = await this.#export().catch(() => null);
      if (exported && userTextCount(exported.messages, text) > baseline) break;
      if (this.#d.clock.now() >= deadline || this.#closed) {
        this.#log.warn('session.message_not_seen', { waitedMs: this.#d.clock.now() - startedAt });
        break;
      }
      await new Promise<void>((resolve) => this.#d.timers.setTimeout(resolve, this.#d.messagePollIntervalMs ?? MESSAGE_POLL_INTERVAL_MS));
    }
    await this.save('message');
  }

  /** Save now, or once the running save is done (coalesced with every other request made meanwhile). Never rejects. */
  save(reason: SessionSaveReason): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#current === null) {
      this.#current = this.#drive(reason);
      return this.#current;
    }
    if (this.#queued) {
      this.#queued.reason = reason;
      return this.#queued.done;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    this.#queued = { reason, done, resolve };
    return done;
  }

  /** The last save (stop or drain), after whatever is running; later requests are ignored. */
  async close(reason: SessionSaveReason): Promise<void> {
    if (this.#closed) return;
    const last = this.save(reason);
    this.#closed = true;
    await last;
  }

  async #drive(reason: SessionSaveReason): Promise<void> {
    await this.#saveOnce(reason);
    const next = this.#queued;
    this.#queued = null;
    if (next) {
      this.#current = this.#drive(next.reason);
      void this.#current.then(next.resolve);
    } else {
      this.#current = null;
    }
  }

  async #saveOnce(reason: SessionSaveReason): Promise<void> {
    const startedAt = this.#d.clock.now();
    try {
      const exported = await this.#export();
      const secrets = this.#d.secrets();
      const encoded = await encodeSnapshot({
        runtime: this.#d.runtimeKind,
        export: exported,
        savedAt: this.#d.clock.now(),
        reason,
        droppedBefore: this.#droppedBefore,
        redact: (value) => redactString(value, secrets),
      });
      await this.#d.client.putSession(encoded);
      const { meta } = encoded;
      this.#lastSave = { savedAt: meta.savedAt, bytes: encoded.bytes.byteLength, turns: meta.turns, reason };
      this.#log.info('session.saved', {
        reason,
        bytes: encoded.bytes.byteLength,
        rawBytes: meta.rawBytes,
        turns: meta.turns,
        messages: meta.messages,
        droppedTurns: meta.droppedTurns,
        ms: this.#d.clock.now() - startedAt,
      });
    } catch (error) {
      const code = codeOf(error, 'internal');
      this.#log.warn('session.save_failed', { reason, code, error: this.#message(error) });
      this.#d.sink.emit('session.save_failed', { reason, code });
    }
  }

  async #export(): Promise<SessionExport> {
    const runtime = this.#runtime;
    if (!runtime) throw new RuntimeError('runtime_not_running', 'the mayor has no runtime yet');
    const exported = await runtime.exportSession();
    this.#noteUserTexts(exported.messages);
    return exported;
  }

  #noteUserTexts(messages: readonly SessionMessage[]): void {
    const counts = new Map<string, number>();
    for (const text of userTexts(messages)) counts.set(text, (counts.get(text) ?? 0) + 1);
    this.#userTexts = counts;
  }

  #restoreFailed(error: unknown): void {
    const failure = asGastownError(error, 'internal', 'the session restore failed');
    const data = {
      code: failure.code,
      ...(failure instanceof RuntimeError ? { runtimeCode: failure.runtimeCode } : {}),
      message: this.#message(failure),
    };
    this.#log.warn('session.restore_failed', data);
    this.#d.sink.emit('session.restore_failed', data);
  }

  /** An error's message, redacted and short (snapshot and runtime errors name what failed, never content). */
  #message(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    return redactString(message, this.#d.secrets()).slice(0, MAX_MESSAGE_CHARS);
  }
}

/** The text of every user message (its text parts joined), in order. */
function userTexts(messages: readonly SessionMessage[]): string[] {
  const out: string[] = [];
  for (const message of messages) {
    if (message.info.role !== 'user') continue;
    const parts = message.parts.filter((part) => part.type === 'text' && typeof part['text'] === 'string').map((part) => part['text'] as string);
    if (parts.length > 0) out.push(parts.join(''));
  }
  return out;
}

function userTextCount(messages: readonly SessionMessage[], text: string): number {
  return userTexts(messages).filter((candidate) => candidate === text).length;
}
