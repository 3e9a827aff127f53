import type { TownEvent } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { followEvents } from '../../src/client/follow-events';
import { CliError } from '../../src/errors';

const ev = (id: number): TownEvent => ({ id, townId: 'town_aaaaaaaa', type: 't', agentId: null, beadId: null, data: {}, at: id });

describe('followEvents', () => {
  it('reconnects after the server ends a stream, from the last id seen, skipping repeats', async () => {
    const opened: number[] = [];
    const connections = [[ev(4), ev(5)], [ev(5), ev(6)], [ev(7)]];
    const controller = new AbortController();
    let t = 0;
    const clock = { now: () => (t += 5_000) };
    const seen: number[] = [];
    for await (const e of followEvents(
      async function* (after) {
        opened.push(after);
        yield* connections[opened.length - 1] ?? [];
      },
      3,
      controller.signal,
      { clock },
    )) {
      seen.push(e.id);
      if (e.id === 7) controller.abort();
    }
    expect(seen).toEqual([4, 5, 6, 7]);
    expect(opened).toEqual([3, 5, 6]);
  });

  it('gives up on a stream that keeps closing at once (no busy loop)', async () => {
    let opens = 0;
    const clock = { now: () => 0 };
    const run = async () => {
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      for await (const _ of followEvents(
        async function* () {
          opens++;
        },
        0,
        new AbortController().signal,
        { clock, maxQuickFailures: 3 },
      ));
    };
    const err = await run().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).code).toBe('failed');
    expect(opens).toBe(3);
  });

  it('propagates an error from opening the stream', async () => {
    const failing = followEvents(
      // eslint-disable-next-line require-yield
      async function* () {
        throw new CliError('not_found', 'town town_x not found');
      },
      0,
      new AbortController().signal,
      { clock: { now: () => 0 } },
    );
    await expect(failing.next()).rejects.toMatchObject({ code: 'not_found' });
  });
});
