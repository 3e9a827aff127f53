import type { ServerSentEvent } from '@gastown/protocol';
import type { TokenUsage } from './token-usage';

/** Follows a streamed response's server-sent events and tells its usage so far. Never throws. */
export interface StreamUsageReader {
  event(event: ServerSentEvent): void;
  usage(): TokenUsage;
  /** An error the stream reported in-band (status 200, then an `error` event), or null. */
  errorCode(): string | null;
}
