/**
 * A server-sent-events parser (the WHATWG event-stream format): feed it text chunks as they
 * arrive, get complete events out. Pure; no I/O. Comments (`: keep-alive`) are dropped, `retry`
 * is ignored, a trailing incomplete event is kept until more text arrives.
 */
export interface ServerSentEvent {
  /** `event:` field, `message` when absent. */
  event: string;
  data: string;
  /** `id:` field of this event, or null. */
  id: string | null;
}

export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | null = null;
  #hasData = false;

  /** Parse a chunk; returns the events completed by it. */
  push(chunk: string): ServerSentEvent[] {
    this.#buffer += chunk;
    const out: ServerSentEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (!match) break;
      // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
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
        this.#hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        break;
      default:
        break;
    }
    return null;
  }

  #dispatch(): ServerSentEvent | null {
    const event = this.#hasData ? { event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id } : null;
    this.#event = '';
    this.#data = [];
    this.#hasData = false;
    this.#id = null;
    return event;
  }
}
