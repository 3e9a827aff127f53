/**
 * `gastown town delete`, `rig delete`, `agent restart` and `escalation list|ack|resolve`: the
 * request each sends, `--json` output, and the documented exit codes (2 bad args / 400, 4 auth,
 * 5 not found, 6 conflict).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const RIG = 'rig_bbbbbbbb';
const AGENT = 'ag_cccccccc';
const BEAD = 'bd_dddddddd';
const NOW = 1_700_000_000_000;

const rig = {
  id: RIG,
  townId: TOWN,
  name: 'web',
  gitUrl: 'https://example.com/web.git',
  defaultBranch: 'main',
  createdAt: NOW,
};
const escalation = (over: Record<string, unknown> = {}) => ({
  id: BEAD,
  townId: TOWN,
  rigId: RIG,
  type: 'escalation',
  status: 'open',
  title: 'Bead failed after 3 attempts: fix it',
  body: 'why',
  assigneeId: null,
  metadata: { severity: 'high' },
  attempts: 0,
  createdAt: NOW,
  updatedAt: NOW,
  ...over,
});
const agent = {
  id: AGENT,
  townId: TOWN,
  rigId: RIG,
  role: 'polecat',
  name: 'polecat-1',
  status: 'starting',
  beadId: 'bd_eeeeeeee',
  statusLine: null,
  lastHeartbeatAt: null,
  containerInstanceId: null,
  createdAt: NOW,
  credential: { gen: 3, tokenIssuedAt: null, tokenExpiresAt: null, lastRefreshAt: null, refreshCount: 0, reported: null, reportedAt: null, state: 'healthy' },
  isolation: null,
};

type Route = (method: string, url: string) => { status: number; body: unknown } | null;

let server: FakeServer | null = null;
const envs: { remove(): void }[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const e of envs.splice(0)) e.remove();
});

async function run(argv: string[], route: Route) {
  server = await startFakeServer((req, res) => {
    if (req.method === 'GET' && req.url === `/api/towns/${TOWN}/rigs`) return sendJson(res, 200, { rigs: [rig] });
    const answer = route(req.method ?? '', req.url ?? '');
    if (answer) return sendJson(res, answer.status, answer.body);
    sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' });
  envs.push(env);
  const code = await runCli([...argv, '--town', TOWN], env.sys);
  return { code, stdout: env.stdout(), stderr: env.stderr(), requests: server.requests.map((q) => `${q.method} ${q.url}`) };
}

const error = (status: number, code: string) => () => ({ status, body: { error: { code, message: 'nope' } } });

describe('gastown town delete', () => {
  it('needs --yes (exit 2, nothing sent)', async () => {
    const r = await run(['town', 'delete'], () => null);
    expect(r.code).toBe(2);
    expect(r.requests.filter((q) => q.startsWith('DELETE'))).toEqual([]);
  });

  it('--yes --json: DELETE the town, prints the answer', async () => {
    const body = { deleted: true, townId: TOWN, containerWasRunning: true, sessionObjectsRemoved: 1 };
    const r = await run(['town', 'delete', '--yes', '--json'], (m, u) => (m === 'DELETE' && u === `/api/towns/${TOWN}` ? { status: 200, body } : null));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(body);
    expect(r.requests).toContain(`DELETE /api/towns/${TOWN}`);
  });

  it.each([
    { name: '404 → 5', status: 404, code: 'not_found', exit: 5 },
    { name: '401 → 4', status: 401, code: 'token_revoked', exit: 4 },
    { name: '503 → 1', status: 503, code: 'container_unavailable', exit: 1 },
  ])('$name', async ({ status, code, exit }) => {
    const r = await run(['town', 'delete', '--yes', '--json'], (m) => (m === 'DELETE' ? error(status, code)() : null));
    expect(r.code).toBe(exit);
  });
});

describe('gastown rig delete', () => {
  it('by name, --yes: DELETE the rig by id; prints what was cancelled', async () => {
    const body = { deleted: true, rigId: RIG, cancelledBeadIds: ['bd_ffffffff'], stoppedAgentIds: [AGENT], workspaces: 'removed' };
    const r = await run(['rig', 'delete', 'web', '--yes'], (m, u) => (m === 'DELETE' && u === `/api/towns/${TOWN}/rigs/${RIG}` ? { status: 200, body } : null));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/deleted rig web \(rig_bbbbbbbb\): 1 bead\(s\) cancelled, 1 agent\(s\) stopped; its workspaces were removed/);
  });

  it('an unknown rig → exit 5, nothing deleted; no --yes → exit 2', async () => {
    const unknown = await run(['rig', 'delete', 'nope', '--yes'], () => null);
    expect(unknown.code).toBe(5);
    expect(unknown.requests.filter((q) => q.startsWith('DELETE'))).toEqual([]);
    await server?.close();
    server = null;
    expect((await run(['rig', 'delete', 'web'], () => null)).code).toBe(2);
  });
});

describe('gastown agent restart', () => {
  it('--json: POST …/restart, prints the agent and the previous generation', async () => {
    const body = { agent: { ...agent, credential: { ...agent.credential, gen: 4 } }, previousGen: 3 };
    const r = await run(['agent', 'restart', AGENT, '--json'], (m, u) =>
      m === 'POST' && u === `/api/towns/${TOWN}/agents/${AGENT}/restart` ? { status: 200, body } : null,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).previousGen).toBe(3);
    expect(JSON.parse(r.stdout).agent.credential.gen).toBe(4);
  });

  it.each([
    { name: '409 → 6', status: 409, code: 'conflict', exit: 6 },
    { name: '400 → 2', status: 400, code: 'validation_failed', exit: 2 },
  ])('$name', async ({ status, code, exit }) => {
    const r = await run(['agent', 'restart', AGENT], (m) => (m === 'POST' ? error(status, code)() : null));
    expect(r.code).toBe(exit);
  });
});

describe('gastown agent nudge', () => {
  it('POST …/nudge with the words as one text; --json prints the answer', async () => {
    const body = { agent, delivered: true };
    const r = await run(['agent', 'nudge', AGENT, 'use', 'the', 'v2', 'API', '--json'], (m, u) =>
      m === 'POST' && u === `/api/towns/${TOWN}/agents/${AGENT}/nudge` ? { status: 200, body } : null,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ agent: { id: AGENT, role: 'polecat' }, delivered: true });
    expect(r.requests).toContain(`POST /api/towns/${TOWN}/agents/${AGENT}/nudge`);
    expect(JSON.parse(server!.requests.find((q) => q.url.endsWith('/nudge'))!.body)).toEqual({ text: 'use the v2 API' });
  });

  it.each([
    { name: 'not running: 409 → 6', status: 409, code: 'conflict', exit: 6 },
    { name: 'too long: 400 → 2', status: 400, code: 'validation_failed', exit: 2 },
  ])('$name', async ({ status, code, exit }) => {
    const r = await run(['agent', 'nudge', AGENT, 'hello'], (m) => (m === 'POST' ? error(status, code)() : null));
    expect(r.code).toBe(exit);
  });

  it('no text: exit 2, nothing sent', async () => {
    const r = await run(['agent', 'nudge', AGENT, '  '], () => null);
    expect(r.code).toBe(2);
    expect(r.requests.filter((q) => q.startsWith('POST'))).toEqual([]);
  });
});

describe('gastown escalation', () => {
  it('list --state open --json: the filters are sent, every page is read', async () => {
    const r = await run(['escalation', 'list', '--state', 'open', '--severity', 'high', '--json'], (m, u) => {
      if (m !== 'GET' || !u.startsWith(`/api/towns/${TOWN}/escalations`)) return null;
      const query = new URL(u, 'http://x').searchParams;
      expect(query.get('state')).toBe('open');
      expect(query.get('severity')).toBe('high');
      return query.get('cursor')
        ? { status: 200, body: { escalations: [escalation({ id: 'bd_gggggggg' })], nextCursor: null } }
        : { status: 200, body: { escalations: [escalation()], nextCursor: 'next1' } };
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).escalations.map((e: { id: string }) => e.id)).toEqual([BEAD, 'bd_gggggggg']);
  });

  it('list: a bad --state → exit 2 before any request', async () => {
    const r = await run(['escalation', 'list', '--state', 'maybe'], () => null);
    expect(r.code).toBe(2);
    expect(r.requests.filter((q) => q.includes('escalations'))).toEqual([]);
  });

  it('ack --note and resolve --resolution send their bodies; --json prints the escalation', async () => {
    const acked = escalation({ metadata: { severity: 'high', acknowledgedAt: NOW, acknowledgedBy: 'u' } });
    const ack = await run(['escalation', 'ack', BEAD, '--note', 'on it', '--json'], (m, u) =>
      m === 'POST' && u === `/api/towns/${TOWN}/escalations/${BEAD}/acknowledge` ? { status: 200, body: { escalation: acked } } : null,
    );
    expect(ack.code, ack.stderr).toBe(0);
    expect(JSON.parse(ack.stdout).escalation.metadata.acknowledgedAt).toBe(NOW);
    expect(server!.requests.find((q) => q.method === 'POST')!.body).toEqual(JSON.stringify({ note: 'on it' }));
    await server?.close();
    server = null;
    const resolved = await run(['escalation', 'resolve', BEAD], (m, u) =>
      m === 'POST' && u === `/api/towns/${TOWN}/escalations/${BEAD}/resolve` ? { status: 200, body: { escalation: escalation({ status: 'closed' }) } } : null,
    );
    expect(resolved.code, resolved.stderr).toBe(0);
    expect(resolved.stdout).toMatch(/resolved escalation bd_dddddddd/);
  });

  it('an unknown escalation → exit 5; no token accepted → exit 4', async () => {
    expect((await run(['escalation', 'resolve', BEAD], error(404, 'not_found'))).code).toBe(5);
    await server?.close();
    server = null;
    expect((await run(['escalation', 'ack', BEAD], error(401, 'token_expired'))).code).toBe(4);
  });
});
