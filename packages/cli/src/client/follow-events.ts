/**
 * Follow a town's event stream across reconnects: the server ends each connection after a few
 * minutes; this resumes from the last event seen, so nothing is lost or repeated. A stream that
 * keeps ending at once is an error rather than a busy loop.
 */
import type { Clock, TownEvent } from '@gastown/protocol';
import { CliError } from '../errors';

export type OpenStream = (after: number, signal: AbortSignal) => AsyncIterable<TownEvent>;

export interface FollowOptions {
  clock: Clock;
  /** A connection shorter than this that delivered nothing counts as a failure. */
  minConnectionMs?: number;
  /** Failures in a row before giving up. */
  maxQuickFailures?: number;
}

export async function* followEvents(open: OpenStream, after: number, signal: AbortSignal, opts: FollowOptions): AsyncGenerator<TownEvent> {
  const minConnectionMs = opts.minConnectionMs ?? 1000;
  const maxQuickFailures = opts.maxQuickFailures ?? 5;
  let cursor = after;
  let quickFailures = 0;
  while (!signal.aborted) {
    const started = opts.clock.now();
    let delivered = 0;
    for await (const event of open(cursor, signal)) {
      if (event.id <= cursor) continue;
      cursor = event.id;
      delivered++;
      yield event;
    }
    if (signal.aborted) return;
    if (delivered === 0 && opts.clock.now() - started < minConnectionMs) {
      quickFailures++;
      if (quickFailures >= maxQuickFailures) throw new CliError('failed', 'the event stream keeps closing right after it opens');
    } else {
      quickFailures = 0;
    }
  }
}
