import type { OpenAPIHono } from '@hono/zod-openapi';
import type { TownEvent } from '@gastown/protocol';
import type { AppDeps, AppEnv } from '../http/types';
import { eventStreamRoute } from '../openapi/user-routes';
import { unwrap } from '../town/rpc-result';
import { EventStreamLease } from './event-stream-lease';

const PAGE = 500;
const KEEP_ALIVE_MS = 15_000;

/** One town event as a server-sent event; `id` lets the client resume with Last-Event-ID. */
export function toServerSentEvent(event: TownEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * `GET /api/towns/:townId/events/stream`: events after `after` (or Last-Event-ID), then new ones
 * as they are recorded (polling the TownDO every `eventStreamPollMs`). The stream closes after
 * `eventStreamMaxMs`; EventSource clients reconnect with Last-Event-ID and lose nothing.
 *
 * A user may hold `eventStreamMaxPerUser` streams at once (all towns, all isolates): each stream
 * takes a lease (event-stream-lease.ts) after the ownership check, renews it while it polls and
 * gives it back when it ends; past the cap, 429 `rate_limited`.
 */
export function registerEventStreamRoute(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(eventStreamRoute, async function streamEvents(c) {
    const { townId } = c.req.valid('param');
    const { after } = c.req.valid('query');
    const userId = c.get('userId');
    const town = deps.directory.town(townId);
    const lastEventId = Number(c.req.header('last-event-id') ?? Number.NaN);
    let cursor = Number.isSafeInteger(lastEventId) && lastEventId >= 0 ? lastEventId : (after ?? 0);
    // The first page is read before streaming so a missing or foreign town is a plain 404.
    let pending: TownEvent[] | null = unwrap(await town.listEvents(userId, cursor, PAGE));
    const lease = await EventStreamLease.acquire(deps.directory.registry(userId), deps.eventStreamMaxPerUser, deps.clock, deps.logger);
    async function close(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
      await lease.release();
      controller.close();
    }
    const deadline = deps.clock.now() + deps.eventStreamMaxMs;
    const encoder = new TextEncoder();
    let lastWrite = deps.clock.now();

    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pending) {
          const batch = pending;
          pending = null;
          controller.enqueue(encoder.encode(batch.length ? batch.map(toServerSentEvent).join('') : ': connected\n\n'));
          cursor = batch.at(-1)?.id ?? cursor;
          return;
        }
        for (;;) {
          if (deps.clock.now() >= deadline) return close(controller);
          await new Promise((resolve) => setTimeout(resolve, deps.eventStreamPollMs));
          if (lease.isReleased) return;
          if (!(await lease.keepAlive())) return close(controller);
          const result = await town.listEvents(userId, cursor, PAGE);
          if (!result.ok) return close(controller);
          if (result.value.length > 0) {
            controller.enqueue(encoder.encode(result.value.map(toServerSentEvent).join('')));
            cursor = result.value.at(-1)?.id ?? cursor;
            lastWrite = deps.clock.now();
            return;
          }
          if (deps.clock.now() - lastWrite >= KEEP_ALIVE_MS) {
            controller.enqueue(encoder.encode(': keep-alive\n\n'));
            lastWrite = deps.clock.now();
            return;
          }
        }
      },
      cancel: () => lease.release(),
    });
    return new Response(stream, {
      status: 200,
      headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
    });
  });
}
