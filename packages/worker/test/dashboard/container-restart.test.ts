/**
 * The dashboard's container restart (Settings tab): the API call (POST …/container/restart, errors
 * as ApiError), what the tab says afterwards, and the event feed's line for `container.restart_requested`.
 */
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../dashboard/src/api/api-client';
import { ApiError } from '../../dashboard/src/api/api-error';
import { restartOutcome } from '../../dashboard/src/model/container-restart';
import { summariseEvent } from '../../dashboard/src/model/event-summary';

const TOWN = 'town_abcdefgh';

describe('ApiClient.restartContainer', () => {
  it('POSTs the restart route with the token and returns { wasRunning }', async () => {
    const calls: { url: string; method?: string; auth?: string }[] = [];
    const fetchImpl = async (url: string, init?: RequestInit) => {
      calls.push({ url, method: init?.method, auth: (init?.headers as Record<string, string>).authorization });
      return Response.json({ wasRunning: true }, { status: 202 });
    };
    expect(await new ApiClient('tok', fetchImpl).restartContainer(TOWN)).toEqual({ wasRunning: true });
    expect(calls).toEqual([{ url: `/api/towns/${TOWN}/container/restart`, method: 'POST', auth: 'Bearer tok' }]);
  });

  it("a failure is an ApiError with the server's code", async () => {
    const fetchImpl = async () => Response.json({ error: { code: 'container_unavailable', message: 'the container host is unreachable' } }, { status: 503 });
    const err = await new ApiClient('tok', fetchImpl).restartContainer(TOWN).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('container_unavailable');
  });
});

describe('what the Settings tab and the event feed say', () => {
  it.each([
    { name: 'a running container', wasRunning: true, text: /Container restarted/ },
    { name: 'a sleeping one', wasRunning: false, text: /was asleep/ },
  ])('restart outcome: $name', ({ wasRunning, text }) => {
    expect(restartOutcome({ wasRunning })).toMatch(text);
  });

  it('the feed line of container.restart_requested', () => {
    const event = (wasRunning: boolean) => ({
      id: 1,
      townId: TOWN,
      type: 'container.restart_requested',
      agentId: null,
      beadId: null,
      data: { wasRunning },
      at: 1,
    });
    expect(summariseEvent(event(true)).text).toMatch(/container restarted/);
    expect(summariseEvent(event(false)).text).toMatch(/asleep/);
  });
});
