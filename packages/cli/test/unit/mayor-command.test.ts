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
function scriptedTown(options: { replyIdle: boolean }) {
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
