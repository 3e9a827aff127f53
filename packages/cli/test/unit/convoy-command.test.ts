/**
 * `gastown convoy create|list|show|add|delete` against a fake server: the request each one sends,
 * its output (and --json), and the documented exit codes (2 bad arguments or a refused value,
 * 4 auth, 5 not found, 6 conflict).
 */
import type { Bead, Convoy } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { EXIT_CODES } from '../../src/errors';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const NOW = 1_800_000_000_000;

function convoy(over: Partial<Convoy> = {}): Convoy {
  return {
    id: 'cv_aaaaaaaa',
    townId: TOWN,
    name: 'Dark mode',
    goal: 'The whole app dark',
    beadIds: ['bd_aaaaaaaa', 'bd_bbbbbbbb'],
    status: 'open',
    progress: { closed: 1, total: 2 },
    createdBy: 'user',
    createdAt: NOW - 60_000,
    updatedAt: NOW - 60_000,
    landedAt: null,
    ...over,
  };
}

function bead(id: string, status: Bead['status']): Bead {
  return {
    id,
    townId: TOWN,
    rigId: 'rig_web00001',
    type: 'issue',
    status,
    title: `work ${id}`,
    body: '',
    assigneeId: null,
    metadata: {},
    attempts: 0,
    createdAt: NOW - 60_000,
    updatedAt: NOW - 60_000,
    priority: 2,
    labels: [],
    dependsOn: [],
  };
}

let server: FakeServer | null = null;
const envs: { remove(): void }[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const e of envs.splice(0)) e.remove();
});

async function run(args: string[], answer: (req: RecordedRequest) => { status: number; body: unknown }) {
  await server?.close();
  const requests: RecordedRequest[] = [];
  server = await startFakeServer((req, res) => {
    requests.push(req);
    const { status, body } = answer(req);
    sendJson(res, status, body);
  });
  const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' }, { clock: { now: () => NOW } });
  envs.push(env);
  const code = await runCli(['convoy', ...args, '--town', TOWN], env.sys);
  return { code, stdout: env.stdout(), stderr: env.stderr(), requests };
}

const bodyOf = (req: RecordedRequest | undefined) => JSON.parse(req?.body || 'null');

describe('gastown convoy', () => {
  it('create: the beads and the goal; prints the convoy with its progress; --json prints {convoy}', async () => {
    const r = await run(['create', 'Dark mode', '--beads', 'bd_aaaaaaaa, bd_bbbbbbbb', '--goal', 'The whole app dark'], () => ({
      status: 201,
      body: { convoy: convoy() },
    }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.requests[0]).toMatchObject({ method: 'POST', url: `/api/towns/${TOWN}/convoys` });
    expect(bodyOf(r.requests[0])).toEqual({ name: 'Dark mode', beadIds: ['bd_aaaaaaaa', 'bd_bbbbbbbb'], goal: 'The whole app dark' });
    expect(r.stdout).toBe('created cv_aaaaaaaa open (1/2 closed): Dark mode\n');
    const json = await run(['create', 'Dark mode', '--beads', 'bd_aaaaaaaa', '--json'], () => ({ status: 201, body: { convoy: convoy() } }));
    expect(JSON.parse(json.stdout)).toEqual({ convoy: convoy() });
  });

  it('list: the status and page in the query, a table with progress, the next page hint; --json prints {convoys, nextCursor}', async () => {
    const page = { convoys: [convoy(), convoy({ id: 'cv_bbbbbbbb', status: 'landed', progress: { closed: 2, total: 2 } })], nextCursor: 'Y29udm95cy4x' };
    const r = await run(['list', '--status', 'open', '--limit', '2'], () => ({ status: 200, body: page }));
    expect(r.code, r.stderr).toBe(0);
    expect(Object.fromEntries(new URLSearchParams(r.requests[0]!.url.split('?')[1]))).toEqual({ status: 'open', limit: '2' });
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+CLOSED\s+UPDATED\s+NAME$/);
    expect(lines[1]).toMatch(/^cv_aaaaaaaa\s+open\s+1\/2\s/);
    expect(lines[2]).toMatch(/^cv_bbbbbbbb\s+landed\s+2\/2\s/);
    expect(r.stderr).toContain('--cursor Y29udm95cy4x');
    const json = await run(['list', '--json'], () => ({ status: 200, body: page }));
    expect(JSON.parse(json.stdout)).toEqual(page);
  });

  it('show: the convoy, its goal and each bead; --json prints {convoy, beads}', async () => {
    const detail = { convoy: convoy(), beads: [bead('bd_aaaaaaaa', 'closed'), bead('bd_bbbbbbbb', 'in_progress')] };
    const r = await run(['show', 'cv_aaaaaaaa'], () => ({ status: 200, body: detail }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.requests[0]).toMatchObject({ method: 'GET', url: `/api/towns/${TOWN}/convoys/cv_aaaaaaaa` });
    expect(r.stdout).toBe(
      'cv_aaaaaaaa open (1/2 closed): Dark mode\ngoal: The whole app dark\n' +
        '  bd_aaaaaaaa closed (P2): work bd_aaaaaaaa\n  bd_bbbbbbbb in_progress (P2): work bd_bbbbbbbb\n',
    );
    const json = await run(['show', 'cv_aaaaaaaa', '--json'], () => ({ status: 200, body: detail }));
    expect(JSON.parse(json.stdout)).toEqual(detail);
  });

  it('add: PATCH addBeadIds; delete: the route and --json', async () => {
    const added = await run(['add', 'cv_aaaaaaaa', 'bd_cccccccc', 'bd_dddddddd', '--json'], () => ({ status: 200, body: { convoy: convoy() } }));
    expect(added.code, added.stderr).toBe(0);
    expect(added.requests[0]).toMatchObject({ method: 'PATCH', url: `/api/towns/${TOWN}/convoys/cv_aaaaaaaa` });
    expect(bodyOf(added.requests[0])).toEqual({ addBeadIds: ['bd_cccccccc', 'bd_dddddddd'] });
    const deleted = await run(['delete', 'cv_aaaaaaaa'], () => ({ status: 200, body: { deleted: true, convoyId: 'cv_aaaaaaaa' } }));
    expect(deleted.requests[0]).toMatchObject({ method: 'DELETE', url: `/api/towns/${TOWN}/convoys/cv_aaaaaaaa` });
    expect(deleted.stdout).toBe('deleted convoy cv_aaaaaaaa\n');
    const json = await run(['delete', 'cv_aaaaaaaa', '--json'], () => ({ status: 200, body: { deleted: true, convoyId: 'cv_aaaaaaaa' } }));
    expect(JSON.parse(json.stdout)).toEqual({ deleted: true, convoyId: 'cv_aaaaaaaa' });
  });

  it.each([
    { name: 'create without --beads', args: ['create', 'x'] },
    { name: 'create with an empty --beads', args: ['create', 'x', '--beads', ' , '] },
    { name: 'create without a name', args: ['create', '--beads', 'bd_aaaaaaaa'] },
    { name: 'add without a bead', args: ['add', 'cv_aaaaaaaa'] },
    { name: 'a limit out of range', args: ['list', '--limit', '0'] },
    { name: 'an unknown subcommand', args: ['frob'] },
  ])('$name → exit 2, nothing sent', async ({ args }) => {
    const r = await run(args, () => ({ status: 500, body: {} }));
    expect(r.code).toBe(EXIT_CODES.usage);
    expect(r.requests).toEqual([]);
  });

  it.each([
    { name: 'a bead that is not an issue of the town (400)', status: 400, error: 'validation_failed', code: EXIT_CODES.usage },
    { name: 'an unknown convoy (404)', status: 404, error: 'not_found', code: EXIT_CODES.notFound },
    { name: 'a landed convoy (409)', status: 409, error: 'conflict', code: EXIT_CODES.conflict },
    { name: 'a rejected token (401)', status: 401, error: 'token_expired', code: EXIT_CODES.auth },
  ])('the server refuses: $name → exit $code; --json prints the error', async ({ status, error, code }) => {
    const r = await run(['add', 'cv_aaaaaaaa', 'bd_cccccccc', '--json'], () => ({ status, body: { error: { code: error, message: 'refused' } } }));
    expect(r.code).toBe(code);
    expect(JSON.parse(r.stdout).error.serverCode).toBe(error);
  });
});
