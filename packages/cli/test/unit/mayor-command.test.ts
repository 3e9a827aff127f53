/**
 * `gastown mayor` in-process against a scripted SSE control plane: the cursor is taken before the
 * post, the stream is followed across a server-side close (resume after the last id), only the
 * mayor's events are printed, and it stops at the idle after the reply.
 */
import type { ServerResponse } from 'node:http';
import type { Agent, TownEvent } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const MAYOR = 'ag_mayor000';
const NOW = 1_800_000_000_000;

const mayor: Agent = {
  id: MAYOR,
  townId: TOWN,
  rigId: null,
  session: null,
  role: 'mayor',
  name: 'mayor',
  status: 'waiting',
  beadId: null,
  statusLine: null,
  lastHeartbeatAt: NOW,
  containerInstanceId: 'c1',
  createdAt: NOW,
  isolation: null,
  credential: {
    gen: 1,
    tokenIssuedAt: NOW,
    tokenExpiresAt: NOW + 3_600_000,
    lastRefreshAt: null,
    refreshCount: 0,
    reported: null,
    reportedAt: null,
    state: 'healthy',
  },
};

let nextId = 0;
const ev = (type: string, data: Record<string, unknown>, agentId: string = MAYOR): TownEvent => ({
  id: ++nextId,
  townId: TOWN,
  type,
  agentId,
  beadId: null,
  data,
  at: NOW,
});
const sse = (e: TownEvent) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

let server: FakeServer | null = null;
const envs: { remove(): void }[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const e of envs.splice(0)) e.remove();
});
const newEnv = (vars: Record<string, string>) => {
  const env = capturedEnv(vars);
  envs.push(env);
  return env;
};

/** History before the message, then the reply delivered over two stream connections. */
function scriptedTown(options: { replyIdle: boolean; reset?: { status: number; body: unknown } }) {
  nextId = 0;
  const history = [ev('town.created', {}, null as never), ev('session.idle', {})];
  const connection1 = [
    ev('mayor.message_received', { messageId: 'mm_message01' }),
    ev('session.busy', {}),
    ev('agent.text', { text: 'a polecat talks' }, 'ag_polecat1'),
    ev('agent.tool', { tool: 'gt_list_rigs', callId: 'c1', state: 'running', input: '{}' }),
  ];
  const connection2 = [
    ev('agent.tool', { tool: 'gt_list_rigs', callId: 'c1', state: 'completed', output: '[]' }),
    ev('agent.tool', { tool: 'gt_sling', callId: 'c2', state: 'running', input: '{"rigId":"rig_aaaaaaaa","title":"Add /health"}' }),
    ev('agent.tool', { tool: 'gt_sling', callId: 'c2', state: 'completed', output: '{"beadId":"bd_1"}' }),
    ev('agent.text', { text: 'Slung bd_1.' }),
    ...(options.replyIdle ? [ev('session.idle', {})] : []),
  ];
  let streams = 0;
  const handler = (req: RecordedRequest, res: ServerResponse) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === `/api/towns/${TOWN}/events`) {
      const after = Number(url.searchParams.get('after'));
      return sendJson(res, 200, { events: history.filter((e) => e.id > after).slice(0, Number(url.searchParams.get('limit'))) });
    }
    if (url.pathname === `/api/towns/${TOWN}/mayor/session` && req.method === 'DELETE') {
      const reset = options.reset ?? { status: 200, body: { deleted: true, stopped: false } };
      return sendJson(res, reset.status, reset.body);
    }
    if (url.pathname === `/api/towns/${TOWN}/mayor/messages` && req.method === 'POST') {
      return sendJson(res, 201, {
        message: { id: 'mm_message01', townId: TOWN, text: JSON.parse(req.body).text, createdAt: NOW, deliveredAt: NOW },
        delivery: 'delivered',
        mayor,
      });
    }
    if (url.pathname === `/api/towns/${TOWN}/events/stream`) {
      const after = Number(url.searchParams.get('after'));
      streams++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const all = [...history, ...connection1, ...connection2].filter((e) => e.id > after);
      if (streams === 1) {
        // the first connection ends after a few events, as the server's connection limit would
        res.end(
          `: connected\n\n${all
            .filter((e) => connection1.includes(e))
            .map(sse)
            .join('')}`,
        );
        return;
      }
      res.write(all.map(sse).join('') || ': connected\n\n');
      // stays open: the CLI must stop by itself (idle) or by --timeout
      return;
    }
    sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
  };
  return { handler, streamCount: () => streams };
}

describe('gastown mayor (scripted SSE control plane)', () => {
  it('prints the reply and the tool calls in order, resumes across a closed stream, stops at idle', async () => {
    const town = scriptedTown({ replyIdle: true });
    server = await startFakeServer(town.handler);
    const env = newEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' });
    const code = await runCli(['mayor', 'add a /health endpoint', '--town', TOWN], env.sys);
    expect({ code, stderr: env.stderr() }).toEqual({ code: 0, stderr: '' });
    expect(env.stdout()).toBe(
      ['→ gt_list_rigs', '✓ gt_list_rigs', '→ gt_sling {"rigId":"rig_aaaaaaaa","title":"Add /health"}', '✓ gt_sling', 'Slung bd_1.', ''].join('\n'),
    );
    const streams = server.requests.filter((r) => r.url.includes('/events/stream')).map((r) => r.url.split('?')[1]);
    // the cursor is the last event before the post (id 2); the second connection resumes after the first's last event
    expect(streams).toEqual(['after=2', 'after=6']);
    const order = server.requests.map((r) => `${r.method} ${r.url.split('?')[0]}`);
    expect(order.indexOf(`POST /api/towns/${TOWN}/mayor/messages`)).toBeGreaterThan(order.indexOf(`GET /api/towns/${TOWN}/events`));
  });

  it('--timeout stops a reply that does not end (exit 7), with what arrived printed', async () => {
    const town = scriptedTown({ replyIdle: false });
    server = await startFakeServer(town.handler);
    const env = newEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' });
    const started = Date.now();
    const code = await runCli(['mayor', 'hello', '--town', TOWN, '--timeout', '1'], env.sys);
    expect(code).toBe(7);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(env.stdout()).toContain('Slung bd_1.');
    expect(env.stderr()).toContain("gastown: no end of the mayor's reply within 1 s");
  });

  it('Ctrl-C: exit 130', async () => {
    const town = scriptedTown({ replyIdle: false });
    server = await startFakeServer(town.handler);
    const env = newEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' });
    setTimeout(() => env.interrupt.abort(), 300);
    expect(await runCli(['mayor', 'hello', '--town', TOWN], env.sys)).toBe(130);
  });
});

describe('gastown mayor --new', () => {
  const calls = () => (server?.requests ?? []).map((r) => `${r.method} ${r.url.split('?')[0]}`);
  const RESET = `DELETE /api/towns/${TOWN}/mayor/session`;
  const POST = `POST /api/towns/${TOWN}/mayor/messages`;

  it('deletes the saved conversation, then sends the message and streams the reply', async () => {
    const town = scriptedTown({ replyIdle: true });
    server = await startFakeServer(town.handler);
    const env = newEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' });
    const code = await runCli(['mayor', '--new', 'add a /health endpoint', '--town', TOWN], env.sys);
    expect({ code, stderr: env.stderr() }).toEqual({ code: 0, stderr: 'started a new conversation (previous one deleted)\n' });
    expect(env.stdout()).toContain('Slung bd_1.');
    const order = calls();
    expect(order.filter((c) => c === RESET)).toHaveLength(1);
    expect(order.indexOf(RESET)).toBeGreaterThanOrEqual(0);
    expect(order.indexOf(RESET)).toBeLessThan(order.indexOf(POST));
    expect(JSON.parse(server.requests.find((r) => r.method === 'POST')!.body)).toEqual({ text: 'add a /health endpoint' });
  });

  it('alone: only the reset, its result on stdout', async () => {
    const town = scriptedTown({ replyIdle: true, reset: { status: 200, body: { deleted: false, stopped: true } } });
    server = await startFakeServer(town.handler);
    const env = newEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' });
    expect(await runCli(['--town', TOWN, 'mayor', '--new'], env.sys)).toBe(0);
    expect(env.stdout()).toBe('started a new conversation (none was saved; the running mayor was stopped and starts afresh with the next message)\n');
    expect(calls()).toEqual([RESET]);
  });

  it('--json: a reset line, then the usual posted/event/end lines', async () => {
    const town = scriptedTown({ replyIdle: true });
    server = await startFakeServer(town.handler);
    const env = newEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' });
    expect(await runCli(['mayor', '--new', 'hello', '--town', TOWN, '--json'], env.sys)).toBe(0);
    const lines = env
      .stdout()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(lines[0]).toEqual({ type: 'reset', deleted: true, stopped: false });
    expect(lines[1]?.type).toBe('posted');
    expect(lines.at(-1)).toEqual({ type: 'end', reason: 'idle' });
  });

  const failures: { name: string; status: number; body: unknown; exit: number; code: string; message: string }[] = [
    {
      name: 'a server failure: exit 1',
      status: 502,
      body: { error: { code: 'upstream_failed', message: 'the container did not answer' } },
      exit: 1,
      code: 'server_error',
      message: `gastown: DELETE /api/towns/${TOWN}/mayor/session failed: upstream_failed: the container did not answer`,
    },
    {
      name: 'a conflict: exit 6',
      status: 409,
      body: { error: { code: 'conflict', message: 'the mayor is being reset' } },
      exit: 6,
      code: 'conflict',
      message: 'gastown: the mayor is being reset',
    },
    {
      name: 'an unknown town: exit 5',
      status: 404,
      body: { error: { code: 'not_found', message: 'town not found' } },
      exit: 5,
      code: 'not_found',
      message: `gastown: town ${TOWN} not found`,
    },
  ];
  for (const f of failures) {
    it(`the reset fails (${f.name}): the message is not sent`, async () => {
      const town = scriptedTown({ replyIdle: true, reset: { status: f.status, body: f.body } });
      server = await startFakeServer(town.handler);
      const env = newEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' });
      expect(await runCli(['mayor', '--new', 'hello', '--town', TOWN, '--json'], env.sys)).toBe(f.exit);
      expect(env.stderr()).toContain(f.message);
      expect(JSON.parse(env.stdout())).toMatchObject({ error: { code: f.code, status: f.status } });
      expect(calls()).toEqual([RESET]);
    });
  }

  const usage: { name: string; args: string[]; message: string; withUsage?: false }[] = [
    { name: 'no message without --new', args: ['mayor'], message: 'gastown: missing <message>' },
    { name: '--no-wait without a message', args: ['mayor', '--new', '--no-wait'], message: 'gastown: --timeout and --no-wait apply to a message' },
    { name: '--timeout without a message', args: ['mayor', '--new', '--timeout', '5'], message: 'gastown: --timeout and --no-wait apply to a message' },
    {
      name: 'an empty message is refused before anything is deleted',
      args: ['mayor', '--new', '  '],
      message: 'gastown: the message is empty',
      withUsage: false,
    },
    { name: 'two messages', args: ['mayor', '--new', 'a', 'b'], message: 'gastown: unexpected argument "b"' },
  ];
  for (const u of usage) {
    it(`usage: ${u.name} (exit 2, nothing sent)`, async () => {
      server = await startFakeServer(scriptedTown({ replyIdle: true }).handler);
      const env = newEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' });
      expect(await runCli([...u.args, '--town', TOWN], env.sys)).toBe(2);
      expect(env.stderr()).toContain(u.message);
      if (u.withUsage !== false) expect(env.stderr()).toContain('usage: gastown mayor');
      expect(calls()).toEqual([]);
    });
  }

  it('--help documents --new', async () => {
    const env = newEnv({});
    expect(await runCli(['mayor', '--help'], env.sys)).toBe(0);
    expect(env.stdout()).toMatch(/--new\s+start a new conversation/);
  });
});
