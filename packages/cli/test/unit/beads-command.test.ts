/**
 * `gastown beads` shows each bead's pull request (metadata.pullRequest): a PR column (`#12 open`,
 * only when some bead has one) and, under the table, one line per pull request with its URL. Only http(s) URLs are printed,
 * normalised (no terminal control characters).
 */
import type { Agent, Bead, PullRequestRef } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { agentFailureLines } from '../../src/views/failure-reasons';
import { printableUrl, pullRequestCell, pullRequestLines } from '../../src/views/pull-request';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const NOW = 1_800_000_000_000;
const SHA = 'a'.repeat(40);

function pr(over: Partial<PullRequestRef> = {}): PullRequestRef {
  return {
    provider: 'github',
    number: 12,
    url: 'https://github.com/acme/web/pull/12',
    state: 'open',
    commit: SHA,
    openedAt: NOW - 5_000,
    updatedAt: NOW - 5_000,
    ...over,
  };
}

function bead(id: string, type: Bead['type'], metadata: Record<string, unknown> = {}, title = `bead ${id}`): Bead {
  return {
    id,
    townId: TOWN,
    rigId: 'rig_web00001',
    type,
    status: 'in_review',
    title,
    body: '',
    assigneeId: null,
    metadata,
    attempts: 1,
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

async function beads(list: Bead[], extra: string[] = []) {
  server = await startFakeServer((req, res) => {
    if (req.url.split('?')[0] === `/api/towns/${TOWN}/beads`) return sendJson(res, 200, { beads: list, nextCursor: null });
    sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' }, { clock: { now: () => NOW } });
  envs.push(env);
  const code = await runCli(['beads', '--town', TOWN, ...extra], env.sys);
  return { code, stdout: env.stdout(), stderr: env.stderr() };
}

describe('gastown beads: pull requests', () => {
  it('a PR column, and one line per pull request (shared by the merge request and its source bead)', async () => {
    const r = await beads([
      bead('bd_source001', 'issue', { pullRequest: pr() }, 'Add a /health endpoint'),
      bead('bd_mr000001', 'merge_request', { sourceBeadId: 'bd_source001', pullRequest: pr() }),
      bead('bd_plain0001', 'issue'),
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TYPE\s+STATUS\s+ASSIGNEE\s+ATTEMPTS\s+UPDATED\s+PR\s+TITLE$/);
    expect(lines[1]).toMatch(/^bd_source001 .*#12 open\s+Add a \/health endpoint$/);
    expect(lines[3]).toMatch(/\s-\s+bead bd_plain0001$/);
    expect(lines.slice(4)).toEqual(['', 'pull requests:', '  #12 open  https://github.com/acme/web/pull/12  (bd_source001, bd_mr000001)']);
  });

  it('no pull requests: no PR column, no list under the table; --json keeps the metadata as the API gave it', async () => {
    const plain = await beads([bead('bd_plain0001', 'issue')]);
    expect(plain.stdout.split('\n')[0]).toMatch(/^ID\s+TYPE\s+STATUS\s+ASSIGNEE\s+ATTEMPTS\s+UPDATED\s+TITLE$/);
    expect(plain.stdout).not.toContain('pull requests:');
    await server?.close();
    const json = await beads([bead('bd_source001', 'issue', { pullRequest: pr({ state: 'merged' }) })], ['--json']);
    expect(JSON.parse(json.stdout).beads[0].metadata.pullRequest).toEqual(pr({ state: 'merged' }));
  });
});

describe('gastown beads / status: why things failed', () => {
  it('beads whose last attempt failed get their reason under the table, whole and printable', async () => {
    const failed = {
      ...bead('bd_failed001', 'issue', { lastFailure: { reason: 'polecat start failed: git clone: repository not found\u001b[31m', at: NOW } }),
      status: 'failed' as const,
      attempts: 3,
    };
    const retrying = {
      ...bead('bd_retry0001', 'issue', { lastFailure: { reason: 'its polecat was lost (missed_heartbeats)', at: NOW } }),
      status: 'open' as const,
    };
    const merged = { ...bead('bd_closed001', 'issue', { lastFailure: { reason: 'an old failure', at: NOW } }), status: 'closed' as const };
    const r = await beads([failed, retrying, merged]);
    expect(r.code).toBe(0);
    const tail = r.stdout.trimEnd().split('\n').slice(-3);
    expect(tail).toEqual([
      'last failures:',
      '  bd_failed001 (failed, 3 attempts): polecat start failed: git clone: repository not found?[31m',
      '  bd_retry0001 (open, 1 attempt): its polecat was lost (missed_heartbeats)',
    ]);
  });

  it('failed agents with their status line (status)', () => {
    const agent = (id: string, status: Agent['status'], statusLine: string | null) =>
      ({ id, role: 'polecat', name: `polecat-${id}`, status, statusLine }) as unknown as Agent;
    expect(
      agentFailureLines([
        agent('ag_1', 'failed', 'container start failed (upstream_failed): git clone failed: repository not found'),
        agent('ag_2', 'working', 'busy'),
        agent('ag_3', 'failed', null),
      ]),
    ).toEqual(['  polecat polecat-ag_1 (ag_1): container start failed (upstream_failed): git clone failed: repository not found']);
  });
});

describe('pull request view (pure)', () => {
  it.each([
    { name: 'open', metadata: { pullRequest: pr() }, cell: { text: '#12 open', colour: null } },
    { name: 'closed unmerged is yellow', metadata: { pullRequest: pr({ state: 'closed' }) }, cell: { text: '#12 closed', colour: 'yellow' } },
    { name: 'none', metadata: {}, cell: '-' },
    { name: 'not a pull request reference', metadata: { pullRequest: { url: 'https://x', number: 'twelve' } }, cell: '-' },
  ])('cell: $name', ({ metadata, cell }) => {
    expect(pullRequestCell({ metadata })).toEqual(cell);
  });

  it.each([
    { name: 'https', url: 'https://github.com/acme/web/pull/12', out: 'https://github.com/acme/web/pull/12' },
    { name: 'http (a local fake)', url: 'http://127.0.0.1:9/acme/web/pull/1', out: 'http://127.0.0.1:9/acme/web/pull/1' },
    { name: 'javascript:', url: 'javascript:alert(1)', out: null },
    { name: 'terminal escape in the path', url: 'https://github.com/acme/\u001b[31mred', out: 'https://github.com/acme/%1B[31mred' },
    { name: 'credential in the URL', url: 'https://user:pw@github.com/x', out: 'https://user:***@github.com/x' },
    { name: 'not a URL', url: 'nope', out: null },
  ])('printableUrl: $name', ({ url, out }) => {
    expect(printableUrl(url)).toBe(out);
  });

  it('a javascript: URL is listed as not a web URL', () => {
    const lines = pullRequestLines([{ id: 'bd_x0000001', metadata: { pullRequest: pr({ url: 'javascript:alert(1)' }) } }]);
    expect(lines).toEqual(['#12 open  (not a web URL)  (bd_x0000001)']);
  });
});

describe('gastown beads: cost', () => {
  const usageRow = (key: string, costMicros: number, unpricedCalls = 0) => ({
    key,
    label: null,
    calls: 2,
    errors: 0,
    inputTokens: 100,
    outputTokens: 10,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costMicros,
    costUsd: costMicros / 1e6,
    unpricedCalls,
  });

  async function withUsage(list: Bead[], rows: ReturnType<typeof usageRow>[]) {
    server = await startFakeServer((req, res) => {
      const path = req.url.split('?')[0];
      if (path === `/api/towns/${TOWN}/beads`) return sendJson(res, 200, { beads: list, nextCursor: null });
      if (path === `/api/towns/${TOWN}/usage`) {
        const totals = { ...usageRow('total', 0), calls: 0 };
        return sendJson(res, 200, { by: 'bead', from: null, to: null, totals, rows, spend: null });
      }
      sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
    });
    const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' }, { clock: { now: () => NOW } });
    envs.push(env);
    const code = await runCli(['beads', '--town', TOWN], env.sys);
    return { code, stdout: env.stdout(), requests: server.requests.map((r) => r.url) };
  }

  it('a COST column from one usage?by=bead call: each bead its cost, - for none, * for unpriced calls', async () => {
    const r = await withUsage(
      [bead('bd_source001', 'issue', {}, 'Add a /health endpoint'), bead('bd_plain0001', 'issue'), bead('bd_other0001', 'issue')],
      [usageRow('bd_source001', 1_234_567), usageRow('bd_other0001', 50, 1), usageRow('none', 99_000)],
    );
    expect(r.code).toBe(0);
    expect(r.requests.filter((u) => u.startsWith(`/api/towns/${TOWN}/usage`))).toEqual([`/api/towns/${TOWN}/usage?by=bead`]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TYPE\s+STATUS\s+ASSIGNEE\s+ATTEMPTS\s+UPDATED\s+COST\s+TITLE$/);
    expect(lines[1]).toMatch(/\s\$1\.23\s+Add a \/health endpoint$/);
    expect(lines[2]).toMatch(/\s-\s+bead bd_plain0001$/);
    expect(lines[3]).toMatch(/\s\$0\.0001\*\s+bead bd_other0001$/);
  });

  it('no bead has calls: no COST column', async () => {
    const r = await withUsage([bead('bd_plain0001', 'issue')], [usageRow('none', 99_000)]);
    expect(r.stdout.split('\n')[0]).not.toContain('COST');
  });
});
