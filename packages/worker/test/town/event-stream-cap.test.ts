/**
 * At most EVENT_STREAM_MAX_PER_USER event streams per user at once, over all the user's towns:
 * short leases in the user's RegistryDO, renewed while a stream polls, released when it closes,
 * expiring by themselves when a stream just stops (in workerd a client that goes away does not
 * always let the stream's `cancel` run). Time moves with vi.setSystemTime.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EVENT_STREAM_MAX_MS, EVENT_STREAM_MAX_PER_USER } from '../../src/config';
import { directoryFromEnv } from '../../src/http/directory';
import { STREAM_LEASE_RENEW_MS, STREAM_LEASE_TTL_MS } from '../../src/routes/event-stream-lease';
import { unwrap } from '../../src/town/rpc-result';
import { BASE, createTown, createUserToken, expectError } from '../helpers';

function openStream(token: string, townId: string): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}/api/towns/${townId}/events/stream`, { headers: { authorization: `Bearer ${token}` } }));
}

/** A refusal's status and JSON body; a stream that opened instead is cancelled (and fails the caller's check). */
async function errorOf(res: Response) {
  if (res.headers.get('content-type')?.includes('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, body: null as any, headers: res.headers };
  }
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

/** The user id inside a user token (its `sub`). */
function userIdOf(token: string): string {
  const payload = token.split('.')[1]!;
  return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))).sub as string;
}

/** Lease rows of a user (expired ones included: only an open or a release removes rows). */
function leaseRows(userId: string): Promise<{ id: string; expires_at: number }[]> {
  return runInDurableObject(env.REGISTRY.get(env.REGISTRY.idFromName(userId)), (_i, state) =>
    state.storage.sql.exec<{ id: string; expires_at: number }>('SELECT id, expires_at FROM stream_leases').toArray(),
  );
}

/** Read a stream to its end in the background (a live client); resolves with what was read. */
function drain(res: Response): { reader: ReadableStreamDefaultReader<Uint8Array>; done: Promise<string> } {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const done = (async () => {
    let text = '';
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) return text;
      text += decoder.decode(chunk.value, { stream: true });
    }
  })();
  return { reader, done };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(cleanup.splice(0).map((fn) => fn().catch(() => undefined)));
});

describe('event streams per user', () => {
  it(`past ${EVENT_STREAM_MAX_PER_USER} streams over all towns: 429 rate_limited; other users are not affected`, async () => {
    const token = await createUserToken();
    const [a, b] = [await createTown(token), await createTown(token)];
    for (let i = 0; i < EVENT_STREAM_MAX_PER_USER; i++) {
      const res = await openStream(token, i % 2 ? a.id : b.id);
      expect(res.status).toBe(200);
      cleanup.push(() => res.body!.cancel());
    }
    const refused = await errorOf(await openStream(token, a.id));
    expectError(refused, 429, 'rate_limited');
    expect(refused.headers.get('content-type')).toContain('application/json');
    expect(await leaseRows(userIdOf(token))).toHaveLength(EVENT_STREAM_MAX_PER_USER);

    const other = await createUserToken();
    const theirs = await openStream(other, (await createTown(other)).id);
    expect(theirs.status).toBe(200);
    cleanup.push(() => theirs.body!.cancel());
  });

  it('a foreign or missing town is a 404 and takes no slot', async () => {
    const token = await createUserToken();
    const someoneElse = await createTown(await createUserToken());
    for (let i = 0; i < EVENT_STREAM_MAX_PER_USER + 2; i++) expectError(await errorOf(await openStream(token, someoneElse.id)), 404, 'not_found');
    expectError(await errorOf(await openStream(token, 'town_doesnotexist0')), 404, 'not_found');
    expect(await leaseRows(userIdOf(token))).toHaveLength(0);
    const mine = await createTown(token);
    const res = await openStream(token, mine.id);
    expect(res.status).toBe(200);
    cleanup.push(() => res.body!.cancel());
  });

  it('live streams renew their leases; a stream whose client went away frees its slot within the lease TTL', async () => {
    const start = Date.now();
    vi.setSystemTime(start);
    const token = await createUserToken();
    const town = await createTown(token);
    const live = [];
    for (let i = 0; i < EVENT_STREAM_MAX_PER_USER; i++) {
      const res = await openStream(token, town.id);
      expect(res.status).toBe(200);
      live.push(drain(res));
    }
    for (const s of live) cleanup.push(() => s.reader.cancel());
    const gone = live.shift()!;
    await gone.reader.cancel();

    // the live ones renew on their next poll once a renewal is due; the gone one does not
    vi.setSystemTime(start + STREAM_LEASE_TTL_MS - 5_000);
    await sleep(2_500);
    const rows = await leaseRows(userIdOf(token));
    expect(rows.filter((r) => r.expires_at > start + STREAM_LEASE_TTL_MS)).toHaveLength(EVENT_STREAM_MAX_PER_USER - 1);
    expectError(await errorOf(await openStream(token, town.id)), 429, 'rate_limited');

    vi.setSystemTime(start + STREAM_LEASE_TTL_MS + 1);
    const again = await openStream(token, town.id);
    expect(again.status).toBe(200);
    cleanup.push(() => again.body!.cancel());
    // exactly one slot came back: the renewed leases still count
    expectError(await errorOf(await openStream(token, town.id)), 429, 'rate_limited');
    expect(STREAM_LEASE_RENEW_MS).toBeLessThan(STREAM_LEASE_TTL_MS / 2);
  });

  it('a stream that reaches its maximum life ends and releases its lease', async () => {
    const start = Date.now();
    vi.setSystemTime(start);
    const token = await createUserToken();
    const town = await createTown(token);
    const stream = drain(await openStream(token, town.id));
    cleanup.push(() => stream.reader.cancel());
    expect(await leaseRows(userIdOf(token))).toHaveLength(1);
    vi.setSystemTime(start + EVENT_STREAM_MAX_MS + 1);
    const text = await stream.done;
    expect(text).toContain('event: town.created');
    expect(await leaseRows(userIdOf(token))).toHaveLength(0);
  });

  it('a lease that is never renewed nor released stops counting after its TTL', async () => {
    const token = await createUserToken();
    const registry = directoryFromEnv(env).registry(userIdOf(token));
    const start = Date.now();
    vi.setSystemTime(start);
    for (let i = 0; i < EVENT_STREAM_MAX_PER_USER; i++) unwrap(await registry.openEventStream(STREAM_LEASE_TTL_MS, EVENT_STREAM_MAX_PER_USER));
    const town = await createTown(token);
    expectError(await errorOf(await openStream(token, town.id)), 429, 'rate_limited');
    vi.setSystemTime(start + STREAM_LEASE_TTL_MS);
    const res = await openStream(token, town.id);
    expect(res.status).toBe(200);
    cleanup.push(() => res.body!.cancel());
  });
});
