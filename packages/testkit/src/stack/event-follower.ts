/**
 * Follows a town's event stream (`GET /api/towns/:townId/events/stream`, server-sent events),
 * reconnecting with `Last-Event-ID` when the server ends a stream, until stopped.
 */
import { routePath, SseParser, TownEventSchema, USER_API, type TownEvent } from '@gastown/protocol';
import { StackError, StackHttpError } from './errors';

export interface EventFollower {
  /** Every event received so far, in order. */
  readonly events: TownEvent[];
  /** Resolves with the first event (already received or future) matching `predicate`. */
  waitFor(predicate: (event: TownEvent) => boolean, timeoutMs: number, what?: string): Promise<TownEvent>;
  stop(): Promise<void>;
}

export function followTownEvents(options: {
  workerUrl: string;
  token: string;
  townId: string;
  after?: number;
  onEvent?: (event: TownEvent) => void;
  onError?: (error: unknown) => void;
}): EventFollower {
  const events: TownEvent[] = [];
  const waiters = new Set<(event: TownEvent) => void>();
  const abort = new AbortController();
  let cursor = options.after ?? 0;

  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const url = `${options.workerUrl}${routePath(USER_API.eventStream, { townId: options.townId })}?after=${cursor}`;
        const res = await fetch(url, {
          headers: { authorization: `Bearer ${options.token}`, accept: 'text/event-stream', 'last-event-id': String(cursor) },
          signal: abort.signal,
        });
        if (!res.ok || !res.body) throw new StackHttpError('event stream', res.status, null, '');
        const decoder = new TextDecoder();
        const parser = new SseParser();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const sse of parser.push(decoder.decode(chunk, { stream: true }))) {
            const event = TownEventSchema.safeParse(JSON.parse(sse.data));
            if (!event.success || event.data.id <= cursor) continue;
            cursor = event.data.id;
            events.push(event.data);
            options.onEvent?.(event.data);
            for (const wake of [...waiters]) wake(event.data);
          }
        }
      } catch (error) {
        if (abort.signal.aborted) return;
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  })();

  return {
    events,
    waitFor(predicate, timeoutMs, what = 'event') {
      const found = events.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<TownEvent>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new StackError(
              'stack_timeout',
              `no ${what} within ${timeoutMs} ms (${events.length} events seen: ${[...new Set(events.map((e) => e.type))].join(', ')})`,
            ),
          );
        }, timeoutMs);
        function check(event: TownEvent) {
          if (!predicate(event)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(event);
        }
        waiters.add(check);
      });
    },
    async stop() {
      abort.abort();
      await loop.catch(() => undefined);
    },
  };
}
