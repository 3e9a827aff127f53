/** One server-sent event as the wire delivers it. */
export interface ServerSentEvent {
  id: string | null;
  event: string;
  data: string;
}

/**
 * Incremental parser of a `text/event-stream` body (the WHATWG rules that matter here): feed it
 * decoded text chunks in any split; it returns the events completed by each chunk. Comments
 * (`: keep-alive`) are skipped; `id` persists as the last event id. Pure, no I/O.
 */
export class SseParser {
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #id: string | null = null;
  #lastEventId: string | null = null;

  /** The id of the last complete event seen (what a reconnect sends as Last-Event-ID). */
  get lastEventId(): string | null {
    return this.#lastEventId;
  }

  push(chunk: string): ServerSentEvent[] {
    this.#buffer += chunk;
    const out: ServerSentEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (!match) break;
      // A lone "\r" at the very end may be the first half of "\r\n": wait for more.
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
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#data.push(value);
        break;
      case 'event':
        this.#event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        break;
      default:
        break; // `retry` and unknown fields are ignored
    }
    return null;
  }

  #dispatch(): ServerSentEvent | null {
    const hasData = this.#data.length > 0;
    const event: ServerSentEvent = { id: this.#id, event: this.#event || 'message', data: this.#data.join('\n') };
    this.#data = [];
    this.#event = '';
    if (this.#id !== null) this.#lastEventId = this.#id;
    return hasData ? event : null;
  }
}
