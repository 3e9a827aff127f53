import type { MayorMessage, TownEvent } from '@gastown/protocol';

export type ChatEntry =
  | { kind: 'user'; key: string; at: number; text: string; delivered: boolean; failed: boolean }
  | { kind: 'text'; key: string; at: number; text: string }
  | { kind: 'tool'; key: string; at: number; tool: string; state: string; input: string | null; output: string | null }
  | { kind: 'error'; key: string; at: number; text: string };

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * The mayor conversation, built from the user's messages (GET mayor/messages) and the mayor's
 * town events (agent.text, agent.tool, agent.error, session.busy/idle, mayor.delivery_failed).
 * Only the current conversation: `mayor.session_reset` (a reset from here, the CLI or another
 * tab; replayed on reload) drops everything before it. Pure state: the chat panel renders
 * `entries()` and `busy`.
 */
export class ChatModel {
  #mayorId: string | null = null;
  #entries = new Map<string, ChatEntry>();
  #order = new Map<string, number>();
  #seq = 0;
  #busy = false;
  /** The newest event id seen, and the boundary of the current conversation (see startNewConversation). */
  #lastEventId = 0;
  #eventsThrough = 0;
  /** User messages created at or before this (control-plane clock) belong to an earlier conversation. */
  #messagesThrough = Number.NEGATIVE_INFINITY;

  get mayorId(): string | null {
    return this.#mayorId;
  }

  /** The mayor is working on a turn (session.busy without a later session.idle). */
  get busy(): boolean {
    return this.#busy;
  }

  setMayor(agentId: string | null): void {
    this.#mayorId = agentId;
  }

  /** Add or update the user's messages (idempotent by message id). */
  addUserMessages(messages: readonly MayorMessage[]): void {
    for (const m of messages) {
      if (m.createdAt <= this.#messagesThrough) continue;
      const key = `user:${m.id}`;
      const prev = this.#entries.get(key);
      const failed = prev?.kind === 'user' ? prev.failed : false;
      this.#put({ kind: 'user', key, at: m.createdAt, text: m.text, delivered: m.deliveredAt !== null, failed });
    }
  }

  /** Apply one town event; returns whether the conversation changed. */
  applyEvent(event: TownEvent): boolean {
    if (event.id <= this.#eventsThrough) return false;
    this.#lastEventId = Math.max(this.#lastEventId, event.id);
    if (this.#mayorId === null || event.agentId !== this.#mayorId) return false;
    const d = event.data;
    switch (event.type) {
      case 'agent.text': {
        const text = str(d.text);
        if (!text) return false;
        this.#put({ kind: 'text', key: `text:${event.id}`, at: event.at, text });
        return true;
      }
      case 'agent.tool': {
        const callId = str(d.callId) ?? String(event.id);
        const key = `tool:${callId}`;
        const prev = this.#entries.get(key);
        const input = str(d.input) ?? (prev?.kind === 'tool' ? prev.input : null);
        this.#put({ kind: 'tool', key, at: prev?.at ?? event.at, tool: str(d.tool) ?? 'tool', state: str(d.state) ?? 'running', input, output: str(d.output) });
        return true;
      }
      case 'agent.error':
        this.#put({ kind: 'error', key: `error:${event.id}`, at: event.at, text: str(d.message) ?? 'the mayor reported an error' });
        return true;
      case 'session.busy':
        this.#busy = true;
        return true;
      case 'session.idle':
        this.#busy = false;
        return true;
      case 'mayor.delivery_failed': {
        const key = `user:${str(d.messageId) ?? ''}`;
        const prev = this.#entries.get(key);
        if (prev?.kind === 'user') this.#put({ ...prev, failed: true });
        this.#put({ kind: 'error', key: `error:${event.id}`, at: event.at, text: `message not delivered (${str(d.code) ?? 'error'})` });
        return true;
      }
      case 'mayor.session_reset':
        this.#forgetThrough(event.at);
        return true;
      case 'agent.completed':
      case 'agent.stopped':
        this.#busy = false;
        return true;
      default:
        return false;
    }
  }

  /**
   * The user started a new conversation here: forget what is shown at once (its
   * `mayor.session_reset` event follows), and keep what belongs to the old one out — messages a
   * later refetch lists again, events already seen. Both boundaries are the server's (message
   * times, event ids), never this browser's clock.
   */
  startNewConversation(): void {
    this.#forgetThrough(Math.max(this.#messagesThrough, ...[...this.#entries.values()].map((e) => e.at)));
    this.#eventsThrough = this.#lastEventId;
  }

  /** Drop what happened at or before `at` (server time) and keep such messages out from now on. */
  #forgetThrough(at: number): void {
    this.#messagesThrough = Math.max(this.#messagesThrough, at);
    for (const [key, e] of this.#entries) {
      if (e.at > at) continue;
      this.#entries.delete(key);
      this.#order.delete(key);
    }
    this.#busy = false;
  }

  /** Entries in time order (ties keep arrival order). */
  entries(): ChatEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.at - b.at || (this.#order.get(a.key) ?? 0) - (this.#order.get(b.key) ?? 0));
  }

  #put(entry: ChatEntry): void {
    if (!this.#order.has(entry.key)) this.#order.set(entry.key, this.#seq++);
    this.#entries.set(entry.key, entry);
  }
}
