/** The API client over real HTTP against a scripted local server: streaming, aborts, timeouts, validation, auth. */
import type { TownEvent } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client';
import { CliError } from '../../src/errors';
import { sendJson, startFakeServer, type FakeServer } from '../support/fake-server';

const TOKEN = 'eyJ.test-user-token.sig';
const TOWN = 'town_aaaaaaaa';
let server: FakeServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const event = (id: number, type = 'agent.text'): TownEvent => ({
  id,
  townId: TOWN,
  type,
  agentId: 'ag_mayor000',
  beadId: null,
  data: { text: `t${id}` },
  at: id,
});
const sse = (e: TownEvent) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof CliError)) throw new Error(`expected a CliError, got ${String(err)}`);
  return err;
}

describe('ApiClient', () => {
  it('sends the token only in the Authorization header and validates answers', async () => {
    server = await startFakeServer((req, res) => sendJson(res, 200, { towns: [] }));
    const client = new ApiClient({ baseUrl: `${server.url}/`, token: TOKEN });
    expect(await client.listTowns()).toEqual([]);
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/api/towns', headers: { authorization: `Bearer ${TOKEN}` } });
  });

  it('an answer that does not match the protocol is bad_response, naming the field', async () => {
    server = await startFakeServer((req, res) => sendJson(res, 200, { towns: [{ id: 'nope' }] }));
    const err = await failure(new ApiClient({ baseUrl: server.url, token: TOKEN }).listTowns());
    expect(err.code).toBe('bad_response');
    expect(err.message).toMatch(/unexpected answer to GET \/api\/towns .*\(towns\.0\.id: /);
  });

  it('a server error body becomes the typed error; the token is never in it', async () => {
    server = await startFakeServer((req, res) => sendJson(res, 401, { error: { code: 'token_expired', message: 'token expired' } }));
    const err = await failure(new ApiClient({ baseUrl: server.url, token: TOKEN }).listAgents(TOWN));
    expect([err.code, err.exitCode, err.details.serverCode]).toEqual(['unauthorized', 4, 'token_expired']);
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain(TOKEN);
  });

  it('no token: token_missing, and no request is sent', async () => {
    server = await startFakeServer((req, res) => sendJson(res, 200, { towns: [] }));
    const err = await failure(new ApiClient({ baseUrl: server.url, token: null }).listTowns());
    expect(err.code).toBe('token_missing');
    expect(server.requests).toHaveLength(0);
  });

  it('a server that never answers: a timeout error after timeoutMs', async () => {
    server = await startFakeServer(() => undefined);
    const started = Date.now();
    const err = await failure(new ApiClient({ baseUrl: server.url, token: TOKEN, timeoutMs: 200 }).listTowns());
    expect(err.code).toBe('unreachable');
    expect(err.message).toBe(`${server.url} did not answer GET /api/towns within 0 s`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('streams events across chunk boundaries, and an abort ends a stream that is still open', async () => {
    server = await startFakeServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const text = `: connected\n\n${sse(event(4))}${sse(event(5, 'session.idle'))}`;
      res.write(text.slice(0, 37));
      setTimeout(() => res.write(text.slice(37)), 20);
      // never ends
    });
    const client = new ApiClient({ baseUrl: server.url, token: TOKEN, timeoutMs: 300 });
    const controller = new AbortController();
    const seen: number[] = [];
    const started = Date.now();
    for await (const e of client.streamEvents(TOWN, 3, controller.signal)) {
      seen.push(e.id);
      // after the time limit of a plain request: the stream is not cut by it
      if (e.id === 5) setTimeout(() => controller.abort(), 500);
    }
    expect(seen).toEqual([4, 5]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(server.requests[0]?.url).toBe(`/api/towns/${TOWN}/events/stream?after=3`);
  });

  it('a 404 on the stream names the town', async () => {
    server = await startFakeServer((req, res) => sendJson(res, 404, { error: { code: 'not_found', message: 'town not found' } }));
    const stream = new ApiClient({ baseUrl: server.url, token: TOKEN }).streamEvents(TOWN, 0);
    const err = await failure(stream.next());
    expect([err.code, err.message]).toEqual(['not_found', `town ${TOWN} not found (see \`gastown town list\`)`]);
  });

  it('a malformed event on the stream is bad_response', async () => {
    server = await startFakeServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('id: 1\ndata: {"id":"x"}\n\n');
    });
    const err = await failure(new ApiClient({ baseUrl: server.url, token: TOKEN }).streamEvents(TOWN, 0).next());
    expect(err.code).toBe('bad_response');
  });
});
