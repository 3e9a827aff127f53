/** The API client reads whole paginated lists (agents, beads): it follows `nextCursor` until null, and never loops forever. */
import type { Bead } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/client/api-client';
import { CliError } from '../../src/errors';
import { sendJson, startFakeServer, type FakeServer } from '../support/fake-server';

const TOKEN = 'eyJ.test-user-token.sig';
const TOWN = 'town_aaaaaaaa';
const NOW = 1_800_000_000_000;
let server: FakeServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const bead = (n: number): Bead => ({
  id: `bd_${String(n).padStart(8, '0')}`,
  townId: TOWN,
  rigId: null,
  type: 'issue',
  status: 'open',
  title: `bead ${n}`,
  body: '',
  assigneeId: null,
  metadata: {},
  attempts: 0,
  createdAt: NOW + n,
  updatedAt: NOW + n,
  priority: 2,
  labels: [],
  dependsOn: [],
});

/** The query of a recorded request URL. */
const queryOf = (url: string) => Object.fromEntries(new URL(url, 'http://x').searchParams);

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof CliError)) throw new Error(`expected a CliError, got ${String(err)}`);
  return err;
}

describe('ApiClient lists', () => {
  it('follows nextCursor across 3 pages: every item, in order, with the filter on each page', async () => {
    const pages: Record<string, { beads: Bead[]; nextCursor: string | null }> = {
      first: { beads: [bead(1), bead(2)], nextCursor: 'cur2' },
      cur2: { beads: [bead(3), bead(4)], nextCursor: 'cur3' },
      cur3: { beads: [bead(5)], nextCursor: null },
    };
    server = await startFakeServer((req, res) =>
      sendJson(res, 200, pages[queryOf(req.url).cursor ?? 'first'] ?? { error: { code: 'not_found', message: 'no page' } }),
    );
    const beads = await new ApiClient({ baseUrl: server.url, token: TOKEN }).listBeads(TOWN, 'open');
    expect(beads.map((b) => b.title)).toEqual(['bead 1', 'bead 2', 'bead 3', 'bead 4', 'bead 5']);
    expect(server.requests.map((r) => queryOf(r.url))).toEqual([
      { status: 'open', limit: '500' },
      { status: 'open', limit: '500', cursor: 'cur2' },
      { status: 'open', limit: '500', cursor: 'cur3' },
    ]);
    expect(server.requests.every((r) => new URL(r.url, 'http://x').pathname === `/api/towns/${TOWN}/beads`)).toBe(true);
  });

  it('an older server without nextCursor: its one page is the whole list', async () => {
    server = await startFakeServer((req, res) => sendJson(res, 200, { agents: [] }));
    expect(await new ApiClient({ baseUrl: server.url, token: TOKEN }).listAgents(TOWN)).toEqual([]);
    expect(server.requests.map((r) => r.url)).toEqual([`/api/towns/${TOWN}/agents?limit=500`]);
  });

  it('a server whose list never ends: bad_response after 100 pages, not an endless loop', async () => {
    server = await startFakeServer((req, res) => sendJson(res, 200, { beads: [], nextCursor: `c${server?.requests.length ?? 0}` }));
    const err = await failure(new ApiClient({ baseUrl: server.url, token: TOKEN }).listBeads(TOWN));
    expect(err.code).toBe('bad_response');
    expect(err.message).toContain('did not end after 100 pages');
    expect(server.requests).toHaveLength(100);
  });

  it('a cursor that points back to an earlier page: bad_response at once', async () => {
    server = await startFakeServer((req, res) => sendJson(res, 200, { agents: [], nextCursor: 'same' }));
    const err = await failure(new ApiClient({ baseUrl: server.url, token: TOKEN }).listAgents(TOWN));
    expect(err.code).toBe('bad_response');
    expect(server.requests).toHaveLength(2);
  });

  it('an error on a later page is the typed error of that page', async () => {
    server = await startFakeServer((req, res) =>
      queryOf(req.url).cursor
        ? sendJson(res, 400, { error: { code: 'validation_failed', message: 'query.cursor: bad' } })
        : sendJson(res, 200, { beads: [bead(1)], nextCursor: 'cur2' }),
    );
    const err = await failure(new ApiClient({ baseUrl: server.url, token: TOKEN }).listBeads(TOWN));
    expect(err.details.serverCode).toBe('validation_failed');
  });
});
