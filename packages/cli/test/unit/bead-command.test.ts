/**
 * `gastown bead create|edit|close|reopen|delete|list` against a fake server: the request each one
 * sends, its output (and --json), and the documented exit codes (2 bad arguments or a refused value,
 * 5 not found, 6 conflict).
 */
import type { Bead } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { EXIT_CODES } from '../../src/errors';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const RIG = { id: 'rig_web00001', name: 'web' };
const NOW = 1_800_000_000_000;

function bead(over: Partial<Bead> = {}): Bead {
  return {
    id: 'bd_aaaaaaaa',
    townId: TOWN,
    rigId: RIG.id,
    type: 'issue',
    status: 'open',
    title: 'Add a flag',
    body: '',
    assigneeId: null,
    metadata: {},
    attempts: 0,
    createdAt: NOW - 60_000,
    updatedAt: NOW - 60_000,
    priority: 2,
    labels: [],
    dependsOn: [],
    ...over,
  };
}

let server: FakeServer | null = null;
const envs: { remove(): void }[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const e of envs.splice(0)) e.remove();
});

/** Run `gastown bead …` against a server that answers `answer(req)` for bead routes and lists the one rig. */
async function run(args: string[], answer: (req: RecordedRequest) => { status: number; body: unknown }) {
  const requests: RecordedRequest[] = [];
  server = await startFakeServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === `/api/towns/${TOWN}/rigs`) return sendJson(res, 200, { rigs: [rigView()] });
    requests.push(req);
    const { status, body } = answer(req);
    sendJson(res, status, body);
  });
  const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' }, { clock: { now: () => NOW } });
  envs.push(env);
  const code = await runCli(['bead', ...args, '--town', TOWN], env.sys);
  return { code, stdout: env.stdout(), stderr: env.stderr(), requests };
}

function rigView() {
  return {
    ...RIG,
    townId: TOWN,
    gitUrl: 'https://example.com/web.git',
    defaultBranch: 'main',
    createdAt: NOW,
  };
}

const bodyOf = (req: RecordedRequest | undefined) => JSON.parse(req?.body || 'null');

describe('gastown bead', () => {
  it('create: the rig by name, priority, labels and dependencies; prints the bead; --json prints {bead}', async () => {
    const created = bead({ priority: 1, labels: ['cli'], dependsOn: ['bd_bbbbbbbb'] });
    const r = await run(['create', 'Add a flag', '--rig', 'web', '--priority', '1', '--labels', 'cli', '--depends-on', 'bd_bbbbbbbb'], () => ({
      status: 201,
      body: { bead: created },
    }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.requests[0]).toMatchObject({ method: 'POST', url: `/api/towns/${TOWN}/beads` });
    expect(bodyOf(r.requests[0])).toEqual({ rigId: RIG.id, title: 'Add a flag', priority: 1, labels: ['cli'], dependsOn: ['bd_bbbbbbbb'] });
    expect(r.stdout).toBe('created bd_aaaaaaaa open (P1; labels cli; waits on bd_bbbbbbbb): Add a flag\n');
    const json = await run(['create', 'Add a flag', '--rig', RIG.id, '--json'], () => ({ status: 201, body: { bead: created } }));
    expect(JSON.parse(json.stdout)).toEqual({ bead: created });
  });

  it('edit: only what is given; "" empties a list', async () => {
    const r = await run(['edit', 'bd_aaaaaaaa', '--title', 'New', '--depends-on', ''], () => ({ status: 200, body: { bead: bead({ title: 'New' }) } }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.requests[0]).toMatchObject({ method: 'PATCH', url: `/api/towns/${TOWN}/beads/bd_aaaaaaaa` });
    expect(bodyOf(r.requests[0])).toEqual({ title: 'New', dependsOn: [] });
  });

  it('close (with a reason), reopen, delete: the routes, and --json', async () => {
    const closed = await run(['close', 'bd_aaaaaaaa', '--reason', 'dup', '--json'], () => ({ status: 200, body: { bead: bead({ status: 'closed' }) } }));
    expect(closed.requests[0]).toMatchObject({ method: 'POST', url: `/api/towns/${TOWN}/beads/bd_aaaaaaaa/close` });
    expect(bodyOf(closed.requests[0])).toEqual({ reason: 'dup' });
    expect(JSON.parse(closed.stdout).bead.status).toBe('closed');
    await server?.close();
    const reopened = await run(['reopen', 'bd_aaaaaaaa'], () => ({ status: 200, body: { bead: bead() } }));
    expect(reopened.requests[0]).toMatchObject({ method: 'POST', url: `/api/towns/${TOWN}/beads/bd_aaaaaaaa/reopen` });
    expect(reopened.stdout).toContain('reopened bd_aaaaaaaa open');
    await server?.close();
    const deleted = await run(['delete', 'bd_aaaaaaaa', '--json'], () => ({ status: 200, body: { deleted: true, beadId: 'bd_aaaaaaaa' } }));
    expect(deleted.requests[0]).toMatchObject({ method: 'DELETE', url: `/api/towns/${TOWN}/beads/bd_aaaaaaaa` });
    expect(JSON.parse(deleted.stdout)).toEqual({ deleted: true, beadId: 'bd_aaaaaaaa' });
  });

  it('list: filters and the page in the query; the next page hint; --json prints {beads, nextCursor}', async () => {
    const page = { beads: [bead({ labels: ['ui'] })], nextCursor: 'YmVhZHMuMS5iZF9h' };
    const r = await run(['list', '--status', 'open', '--rig', 'web', '--label', 'ui', '--assignee', 'ag_aaaaaaaa', '--limit', '1'], () => ({
      status: 200,
      body: page,
    }));
    expect(r.code, r.stderr).toBe(0);
    const query = new URLSearchParams(r.requests[0]!.url.split('?')[1]);
    expect(Object.fromEntries(query)).toEqual({ status: 'open', rigId: RIG.id, label: 'ui', assigneeId: 'ag_aaaaaaaa', limit: '1' });
    expect(r.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+PRI\s+LABELS\s+DEPENDS ON\s+ASSIGNEE\s+UPDATED\s+TITLE$/);
    expect(r.stderr).toContain('--cursor YmVhZHMuMS5iZF9h');
    await server?.close();
    const json = await run(['list', '--json'], () => ({ status: 200, body: page }));
    expect(JSON.parse(json.stdout)).toEqual(page);
  });

  it.each([
    { name: 'a priority out of range', args: ['create', 't', '--rig', 'web', '--priority', '7'], code: EXIT_CODES.usage },
    { name: 'create without --rig', args: ['create', 't'], code: EXIT_CODES.usage },
    { name: 'edit with nothing to change', args: ['edit', 'bd_aaaaaaaa'], code: EXIT_CODES.usage },
    { name: 'a limit out of range', args: ['list', '--limit', '501'], code: EXIT_CODES.usage },
    { name: 'an unknown rig', args: ['create', 't', '--rig', 'nope'], code: EXIT_CODES.notFound },
    { name: 'no subcommand word known', args: ['frob'], code: EXIT_CODES.usage },
  ])('$name → exit $code, nothing sent', async ({ args, code }) => {
    const r = await run(args, () => ({ status: 500, body: {} }));
    expect(r.code).toBe(code);
    expect(r.requests).toEqual([]);
  });

  it.each([
    { name: 'a dependency cycle (400)', status: 400, error: 'validation_failed', code: EXIT_CODES.usage },
    { name: 'an unknown bead (404)', status: 404, error: 'not_found', code: EXIT_CODES.notFound },
    { name: 'a state that does not allow it (409)', status: 409, error: 'conflict', code: EXIT_CODES.conflict },
    { name: 'a rejected token (401)', status: 401, error: 'token_expired', code: EXIT_CODES.auth },
  ])('the server refuses: $name → exit $code; --json prints the error', async ({ status, error, code }) => {
    const r = await run(['edit', 'bd_aaaaaaaa', '--depends-on', 'bd_bbbbbbbb', '--json'], () => ({
      status,
      body: { error: { code: error, message: 'refused' } },
    }));
    expect(r.code).toBe(code);
    expect(JSON.parse(r.stdout).error.serverCode).toBe(error);
  });
});
