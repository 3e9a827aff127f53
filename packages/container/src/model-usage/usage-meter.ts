/**
 * Measures one model response from its bytes as they pass: a `text/event-stream` body through an
 * SSE parser and the wire's stream reader, any other body buffered (bounded) and read as JSON at
 * the end. It only observes: it never throws and never alters a byte.
 */
import { SseParser } from '@gastown/protocol';
import type { ModelWireFormat } from '@gastown/protocol';
import { AnthropicStreamUsage, anthropicBodyUsage } from './anthropic-usage';
import { OpenAiStreamUsage, openAiBodyUsage } from './openai-usage';
import { providerErrorCode } from './provider-error-code';
import type { StreamUsageReader } from './stream-usage-reader';
import { ZERO_USAGE, parseJson } from './token-usage';
import type { TokenUsage } from './token-usage';

/** A JSON body longer than this is passed on unmeasured (zeros): usage is not worth holding megabytes for. */
export const DEFAULT_MAX_JSON_BYTES = 8 * 1024 * 1024;

export interface UsageMeterOptions {
  wire: ModelWireFormat;
  /** True for a `text/event-stream` body. */
  sse: boolean;
  maxJsonBytes?: number;
}

export interface MeteredUsage {
  usage: TokenUsage;
  /** The provider's error code when the body was an error (or a stream reported one). */
  errorCode: string | null;
}

export interface UsageMeter {
  /** One chunk of the body, as it went to the client. */
  push(chunk: Uint8Array): void;
  /** The body ended (or stopped): what it measured. */
  finish(): MeteredUsage;
}

export function createUsageMeter(options: UsageMeterOptions): UsageMeter {
  return options.sse ? new SseUsageMeter(options.wire) : new JsonUsageMeter(options.wire, options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES);
}

function streamReader(wire: ModelWireFormat): StreamUsageReader {
  return wire === 'anthropic-messages' ? new AnthropicStreamUsage() : new OpenAiStreamUsage();
}

class SseUsageMeter implements UsageMeter {
  readonly #decoder = new TextDecoder();
  readonly #parser = new SseParser();
  readonly #reader: StreamUsageReader;

  constructor(wire: ModelWireFormat) {
    this.#reader = streamReader(wire);
  }

  push(chunk: Uint8Array): void {
    this.#feed(this.#decoder.decode(chunk, { stream: true }));
  }

  finish(): MeteredUsage {
    // a last event without its blank line still counts: the stream is over
    this.#feed(`${this.#decoder.decode()}\n\n`);
    return { usage: this.#reader.usage(), errorCode: this.#reader.errorCode() };
  }

  #feed(text: string): void {
    for (const event of this.#parser.push(text)) this.#reader.event(event);
  }
}

class JsonUsageMeter implements UsageMeter {
  readonly #chunks: Uint8Array[] = [];
  #bytes = 0;
  #overflow = false;

  constructor(
    private readonly wire: ModelWireFormat,
    private readonly maxBytes: number,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.#overflow) return;
    this.#bytes += chunk.byteLength;
    if (this.#bytes > this.maxBytes) {
      this.#overflow = true;
      this.#chunks.length = 0;
      return;
    }
    this.#chunks.push(chunk.slice());
  }

  finish(): MeteredUsage {
    if (this.#overflow) return { usage: { ...ZERO_USAGE }, errorCode: null };
    const body = parseJson(Buffer.concat(this.#chunks).toString('utf8'));
    const usage = this.wire === 'anthropic-messages' ? anthropicBodyUsage(body) : openAiBodyUsage(body);
    return { usage, errorCode: providerErrorCode(this.wire, body) };
  }
}
