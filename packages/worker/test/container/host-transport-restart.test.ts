import { CONTAINER_KEY_HEADER, GastownError } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { HostTransport } from '../../src/town/container/host-transport';

const KEY = 'host-container-key-0123456789abcdef';
const TOWN = 'town_abcdef123456';
const BASE_URL = 'http://127.0.0.1:8788';

/** A container host on a fetch function: GET /state says `running`; POST /stop answers `stop`. */
function fakeHost(options: { running: boolean; stop?: () => Response; unreachable?: boolean; hang?: boolean }) {
  const seen: { route: string; key: string | null; signal: AbortSignal | null }[] = [];
  const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const path = new URL(String(input)).pathname;
    seen.push({ route: `${init?.method ?? 'GET'} ${path}`, key: new Headers(init?.headers).get(CONTAINER_KEY_HEADER), signal: init?.signal ?? null });
    if (options.unreachable) throw new TypeError('fetch failed');
    if (path === `/towns/${TOWN}/state`) return Response.json({ running: options.running });
    if (path === `/towns/${TOWN}/stop`) {
      if (options.hang)
        return new Promise<Response>((_resolve, reject) =>
          init?.signal?.addEventListener('abort', () => reject(new DOMException('timed out', 'TimeoutError'))),
        );
      return options.stop ? options.stop() : Response.json({ stopped: true });
    }
    return Response.json({ error: { code: 'not_found', message: 'no such route' } }, { status: 404 });
  }) as typeof fetch;
  const transport = new HostTransport({
    baseUrl: BASE_URL,
    containerKey: KEY,
    townId: TOWN,
    fetch: fetcher,
    timeouts: { startMs: 50, deliverMs: 50, otherMs: 50 },
  });
  return { transport, seen };
}

describe('HostTransport.restart (the host graceful stop route)', () => {
  it('an awake town: GET /state, then POST /stop with the deployment key → wasRunning true', async () => {
    const host = fakeHost({ running: true });
    expect(await host.transport.restart()).toEqual({ wasRunning: true });
    expect(host.seen.map((s) => s.route)).toEqual([`GET /towns/${TOWN}/state`, `POST /towns/${TOWN}/stop`]);
    expect(host.seen.every((s) => s.key === KEY)).toBe(true);
  });

  it('a sleeping town is left alone: nothing is stopped or started → wasRunning false', async () => {
    const host = fakeHost({ running: false });
    expect(await host.transport.restart()).toEqual({ wasRunning: false });
    expect(host.seen.map((s) => s.route)).toEqual([`GET /towns/${TOWN}/state`]);
  });

  it.each([
    {
      name: 'the host refuses the stop (500) → upstream_failed',
      options: { running: true, stop: () => new Response('boom', { status: 500 }) },
      code: 'upstream_failed',
    },
    { name: 'an unreachable host → container_unavailable', options: { running: true, unreachable: true }, code: 'container_unavailable' },
    { name: 'a stop that never answers ends at its budget → container_unavailable', options: { running: true, hang: true }, code: 'container_unavailable' },
  ])('$name', async ({ options, code }) => {
    const err = await fakeHost(options)
      .transport.restart()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GastownError);
    expect((err as GastownError).code).toBe(code);
  });
});
