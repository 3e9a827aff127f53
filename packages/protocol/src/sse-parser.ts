// No imports: safe for the dashboard bundle, which must not pull zod in.
/** One server-sent event as the wire delivers it. */
export interface ServerSentEvent {
  /** `event:` field, `message` when absent. */
  event: string;
  data: string;
  /** `id:` field of this event, or null when it has none (see `SseParser.lastEventId` for the spec's persistent one). */
  id: string | null;
}

/**
 * Incremental parser of a `text/event-stream` body (the WHATWG rules that matter here): feed it
 * decoded text chunks in any split; it returns the events completed by each chunk. Comments
 * (`: keep-alive`) are dropped, `retry` and unknown fields are ignored, a block without `data`
 * dispatches nothing, a trailing incomplete event is kept until more text arrives. Pure, no I/O.
 * Used by the CLI (`gastown mayor`, which follows the stream) and the dashboard's live feed.
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | null = null;
  #lastEventId: string | null = null;

  /** The id of the last complete event seen (what a reconnect sends as Last-Event-ID). */
  get lastEventId(): string | null {
    return this.#lastEventId;
  }

  /** Parse a chunk; returns the events completed by it. */
  push(chunk: string): ServerSentEvent[] {
    this.#buffer += chunk;
    const out: ServerSentEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (!match) break;
      // A lone "\r" at the very end may be the first half of "\r\n": wait for the next chunk.
      if (match[0] === '\r' && match.index === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      const event = this.#line(line);
      if (event) out.push(event);
    }
    return out;
  }

  #line(line: string): ServerSentEvent | null {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        break;
      default:
        break; // `retry` and unknown fields
    }
    return null;
  }

  #dispatch(): ServerSentEvent | null {
    if (this.#id !== null) this.#lastEventId = this.#id;
    const event = this.#data.length > 0 ? { event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id } : null;
    this.#event = '';
    this.#data = [];
    this.#id = null;
    return event;
  }
}
