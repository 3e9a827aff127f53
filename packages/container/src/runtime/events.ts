/**
 * Normalises the runtime's `/event` stream into RuntimeEvents. Pure apart from its own small
 * state: which messages are the user's, which tool states were already reported, and whether
 * the main session is busy (so busy/idle are reported once per transition).
 *
 * Shapes seen from opencode 1.18.33 (docs/DEVELOPMENT.md):
 *   {type:'session.status', properties:{sessionID, status:{type:'busy'|'idle'} | {type:'retry', attempt, message, next}}}
 *   {type:'session.idle', properties:{sessionID}}
 *   {type:'message.updated', properties:{sessionID, info:{id, role:'user'|'assistant', error?}}}
 *   {type:'message.part.updated', properties:{sessionID, part:{id, messageID, sessionID, type:'text'|'tool'|…}}}
 *     tool part: {callID, tool, state:{status:'pending'|'running'|'completed'|'error', input, output?, error?}}
 *     text part: {text, time?:{start, end?}} — final once time.end is set
 *   {type:'session.error', properties:{sessionID?, error?:{name, data:{message}}}}
 */
import type { RuntimeEvent } from '../contracts';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Remembered ids per kind; the oldest are forgotten beyond this (a mayor lives for days). */
const MAX_REMEMBERED = 5_000;

function remember<K>(collection: Set<K> | Map<K, unknown>, key: K, value?: unknown): void {
  if (collection instanceof Map) collection.set(key, value);
  else collection.add(key);
  if (collection.size > MAX_REMEMBERED) {
    const oldest = collection.keys().next();
    if (!oldest.done) collection.delete(oldest.value);
  }
}

const TOOL_STATES = new Set(['pending', 'running', 'completed', 'error']);
type ToolState = 'pending' | 'running' | 'completed' | 'error';

/** Human-readable text of an opencode error object, never more than a line or two. */
export function errorMessage(error: unknown): string {
  if (!isObject(error)) return 'unknown error';
  const data = isObject(error.data) ? error.data : {};
  const message = str(data.message) ?? str(error.message);
  const name = str(error.name);
  if (name && message) return `${name}: ${message}`;
  return message ?? name ?? 'unknown error';
}

export class EventNormaliser {
  #sessionId: string | null = null;
  #busy = false;
  readonly #userMessages = new Set<string>();
  readonly #toolStates = new Map<string, ToolState>();
  readonly #finalTexts = new Set<string>();

  /** Only busy/idle of this session are reported (sub-agent sessions have their own). */
  setSession(sessionId: string): void {
    this.#sessionId = sessionId;
  }

  get busy(): boolean {
    return this.#busy;
  }

  normalise(raw: unknown): RuntimeEvent[] {
    if (!isObject(raw)) return [];
    const type = str(raw.type);
    const props = isObject(raw.properties) ? raw.properties : {};
    switch (type) {
      case 'session.status': {
        const status = isObject(props.status) ? props.status : {};
        if (status.type === 'retry') return this.#retry(str(props.sessionID), status);
        return this.#status(str(props.sessionID), str(status.type));
      }
      case 'session.idle':
        return this.#status(str(props.sessionID), 'idle');
      case 'message.updated':
        return this.#message(props);
      case 'message.part.updated':
        return isObject(props.part) ? this.#part(props.part) : [];
      case 'session.error':
        return [{ type: 'error', sessionId: str(props.sessionID), message: errorMessage(props.error) }];
      default:
        return [];
    }
  }

  #status(sessionId: string | null, status: string | null): RuntimeEvent[] {
    if (!sessionId || sessionId !== this.#sessionId) return [];
    if (status === 'busy' && !this.#busy) {
      this.#busy = true;
      return [{ type: 'session.busy', sessionId }];
    }
    if (status === 'idle' && this.#busy) {
      this.#busy = false;
      return [{ type: 'session.idle', sessionId }];
    }
    return [];
  }

  /** The model request failed and opencode will retry it: worth surfacing (a broker 401, a provider outage). */
  #retry(sessionId: string | null, status: Json): RuntimeEvent[] {
    if (!sessionId || sessionId !== this.#sessionId) return [];
    const attempt = typeof status.attempt === 'number' ? status.attempt : null;
    const message = (str(status.message) ?? 'unknown error').slice(0, 300);
    return [{ type: 'error', sessionId, message: `model request failed, retrying${attempt === null ? '' : ` (attempt ${attempt})`}: ${message}` }];
  }

  #message(props: Json): RuntimeEvent[] {
    const info = isObject(props.info) ? props.info : null;
    const id = info ? str(info.id) : null;
    if (!info || !id) return [];
    if (info.role === 'user') remember(this.#userMessages, id);
    return [];
  }

  #part(part: Json): RuntimeEvent[] {
    const sessionId = str(part.sessionID);
    const messageId = str(part.messageID);
    const partId = str(part.id);
    if (!sessionId || !messageId || !partId) return [];
    if (part.type === 'tool') return this.#tool(part, sessionId);
    if (part.type === 'text') {
      if (this.#userMessages.has(messageId) || part.synthetic === true || this.#finalTexts.has(partId)) return [];
      const text = str(part.text) ?? '';
      const final = isObject(part.time) && typeof part.time.end === 'number';
      if (final) remember(this.#finalTexts, partId);
      if (!final && text.length === 0) return [];
      return [{ type: 'text', sessionId, messageId, text, final }];
    }
    return [];
  }

  #tool(part: Json, sessionId: string): RuntimeEvent[] {
    const callId = str(part.callID);
    const tool = str(part.tool);
    const state = isObject(part.state) ? part.state : null;
    const status = state ? str(state.status) : null;
    if (!callId || !tool || !state || !status || !TOOL_STATES.has(status)) return [];
    if (this.#toolStates.get(callId) === status) return [];
    this.#toolStates.delete(callId);
    remember(this.#toolStates, callId, status);
    const event: Extract<RuntimeEvent, { type: 'tool' }> = { type: 'tool', sessionId, callId, tool, state: status as ToolState };
    if (state.input !== undefined) event.input = state.input;
    if (status === 'completed') event.output = str(state.output) ?? '';
    if (status === 'error') event.output = str(state.error) ?? 'tool failed';
    return [event];
  }
}
