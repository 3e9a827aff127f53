import type { TownEvent } from '@gastown/protocol';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../dashboard/src/api/api-error';
import { TownEventStream, type StreamState, type Timers } from '../../dashboard/src/api/town-event-stream';

function townEvent(id: number, type = 'bead.created'): TownEvent {
  return { id, townId: 'town_abcdefgh', type, agentId: null, beadId: null, data: {}, at: id };
}

function sseBody(events: TownEvent[], keepOpen = false): { response: Response; close(): void } {
  const text = events.map((e) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      c.enqueue(new TextEncoder().encode(`: connected\n\n${text}`));
      if (!keepOpen) c.close();
    },
  });
  return { response: new Response(stream, { headers: { 'content-type': 'text/event-stream' } }), close: () => controller.close() };
}

/** Timers that run only when the test says so. */
function manualTimers(): Timers & { pending: { fn: () => void; ms: number }[]; runNext(): number } {
  const pending: { fn: () => void; ms: number }[] = [];
  return {
    pending,
    setTimeout(fn, ms) {
      pending.push({ fn, ms });
      return pending.length;
    },
    clearTimeout() {
      pending.length = 0;
    },
    runNext() {
      const next = pending.shift();
      if (!next) throw new Error('no timer pending');
      next.fn();
      return next.ms;
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('TownEventStream', () => {
  it('delivers events once, resumes from the last event id when the server ends the stream, and backs off on errors', async () => {
    const timers = manualTimers();
    const calls: (string | null)[] = [];
    const responses: (() => Promise<Response>)[] = [
      async () => sseBody([townEvent(1), townEvent(2)]).response,
      async () => {
        throw new ApiError('network_error', 'the control plane could not be reached', 0);
      },
      async () => sseBody([townEvent(2), townEvent(3)]).response, // 2 is replayed: dropped
    ];
    const seen: number[] = [];
    const states: StreamState[] = [];
    const stream = new TownEventStream({
      client: {
        openEventStream: async (_townId, lastEventId) => {
          calls.push(lastEventId);
          const next = responses.shift();
          if (!next) return sseBody([], true).response;
          return next();
        },
      },
      townId: 'town_abcdefgh',
      onEvent: (e) => seen.push(e.id),
      onState: (s) => states.push(s),
      onAuthFailure: () => {
        throw new Error('unexpected');
      },
      timers,
      random: () => 1,
    });
    stream.start();
    await settle();
    expect(seen).toEqual([1, 2]);
    expect(timers.pending).toHaveLength(1); // the server ended the stream: resume soon
    timers.runNext();
    await settle();
    expect(states).toContain('reconnecting');
    expect(timers.pending[0]?.ms).toBe(1000); // first failure: full jitter up to 1 s (random = 1)
    timers.runNext();
    await settle();
    expect(seen).toEqual([1, 2, 3]);
    timers.runNext(); // that stream ended too: resume after event 3
    await settle();
    expect(calls).toEqual(['0', '2', '2', '3']);
    stream.stop();
    expect(states.at(-1)).toBe('stopped');
  });

  it('stops for good and reports the auth failure on a 401; never retries it', async () => {
    const timers = manualTimers();
    const onAuthFailure = vi.fn();
    const open = vi.fn(async () => {
      throw new ApiError('token_expired', 'token expired', 401);
    });
    const stream = new TownEventStream({
      client: { openEventStream: open },
      townId: 'town_abcdefgh',
      onEvent: () => undefined,
      onState: () => undefined,
      onAuthFailure,
      timers,
    });
    stream.start();
    await settle();
    expect(onAuthFailure).toHaveBeenCalledTimes(1);
    expect(onAuthFailure.mock.calls[0]?.[0]).toMatchObject({ code: 'token_expired' });
    expect(timers.pending).toHaveLength(0);
    expect(open).toHaveBeenCalledTimes(1);
  });

  it('caps the backoff at 30 s', async () => {
    const timers = manualTimers();
    const stream = new TownEventStream({
      client: {
        openEventStream: async () => {
          throw new ApiError('upstream_failed', 'bad gateway', 502);
        },
      },
      townId: 'town_abcdefgh',
      onEvent: () => undefined,
      onState: () => undefined,
      onAuthFailure: () => undefined,
      timers,
      random: () => 1,
    });
    stream.start();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      await settle();
      delays.push(timers.runNext());
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    stream.stop();
  });
});
