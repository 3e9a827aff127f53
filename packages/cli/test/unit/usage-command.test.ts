/**
 * `gastown usage` in-process against a scripted control plane: the flags become the query (days
 * are UTC, `--to` included), the table shows each group's calls, tokens and cost (formatUsd), a
 * totals line and, with a cap, the spend line; --json prints the UsageResponse as it came.
 */
import type { SpendStatus, UsageResponse, UsageRow } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { spendLine, spendPercent } from '../../src/views/usage-table';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const NOW = 1_800_000_000_000;

function row(key: string, label: string | null, over: Partial<UsageRow> = {}): UsageRow {
  return {
    key,
    label,
    calls: 3,
    errors: 0,
    inputTokens: 1200,
    outputTokens: 340,
    cacheReadTokens: 5000,
    cacheWriteTokens: 0,
    costMicros: 12_345,
    costUsd: 0.012345,
    unpricedCalls: 0,
    ...over,
  };
}

const SPEND: SpendStatus = { cap: { period: 'day', limitUsd: 5 }, periodStart: NOW - 3_600_000, spentMicros: 4_100_000, spentUsd: 4.1, state: 'warning' };

function response(over: Partial<UsageResponse> = {}): UsageResponse {
  const rows = [row('bd_aaaa0001', 'Add a /health endpoint', { costMicros: 2_500_000, costUsd: 2.5 }), row('none', null, { calls: 1, errors: 1 })];
  return {
    by: 'bead',
    from: null,
    to: null,
    totals: {
      calls: 4,
      errors: 1,
      inputTokens: 2400,
      outputTokens: 680,
      cacheReadTokens: 10_000,
      cacheWriteTokens: 0,
      costMicros: 2_512_345,
      costUsd: 2.512345,
      unpricedCalls: 0,
    },
    rows,
    spend: null,
    ...over,
  };
}

let server: FakeServer | null = null;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const c of cleanups.splice(0)) c();
});

async function run(args: string[], answer: UsageResponse = response()) {
  server = await startFakeServer((req, res) => {
    if (req.url.split('?')[0] === `/api/towns/${TOWN}/usage`) return sendJson(res, 200, answer);
    sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' }, { clock: { now: () => NOW } });
  cleanups.push(() => env.remove());
  const code = await runCli(['usage', '--town', TOWN, ...args], env.sys);
  const query = server.requests[0] ? new URL(server.requests[0].url, 'http://x').searchParams : null;
  return { code, stdout: env.stdout(), stderr: env.stderr(), query, requests: server.requests.length };
}

describe('gastown usage', () => {
  it('a table per group, then the totals', async () => {
    const r = await run(['--by', 'bead']);
    expect(r.code).toBe(0);
    expect(r.query?.get('by')).toBe('bead');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^BEAD\s+LABEL\s+CALLS\s+INPUT\s+OUTPUT\s+CACHE READ\s+CACHE WRITE\s+COST$/);
    expect(lines[1]).toMatch(/^bd_aaaa0001\s+Add a \/health endpoint\s+3\s+1,200\s+340\s+5,000\s+0\s+\$2\.50$/);
    expect(lines[2]).toMatch(/^none\s+-\s+1 \(1 failed\)\s+1,200\s+340\s+5,000\s+0\s+\$0\.01$/);
    expect(lines[3]).toBe('total: 4 calls (1 failed) · 2,400 input · 680 output · 10,000 cache read · 0 cache write · $2.51');
    expect(lines).toHaveLength(4);
  });

  it('with a cap: the spend line; unpriced calls are starred with a note', async () => {
    const base = response();
    const r = await run(
      [],
      response({ by: 'day', rows: [row('2027-01-15', null, { unpricedCalls: 2 })], totals: { ...base.totals, unpricedCalls: 2 }, spend: SPEND }),
    );
    expect(r.query?.has('by')).toBe(false);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DAY\s+LABEL/);
    expect(lines[1]).toMatch(/\$0\.01\*$/);
    expect(lines.at(-1)).toBe('spend: $4.10 of $5.00 per day (82 %, warning)');
    expect(r.stderr).toContain('* some calls were of a model without a known price');
  });

  it('no calls: a note, the (zero) totals', async () => {
    const zero = { calls: 0, errors: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costMicros: 0, costUsd: 0, unpricedCalls: 0 };
    const r = await run([], response({ rows: [], totals: zero }));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('no model calls in this period');
    expect(r.stdout).toBe('total: 0 calls · 0 input · 0 output · 0 cache read · 0 cache write · $0.00\n');
  });

  it('--from/--to are UTC days, --to included (the query`s to is exclusive)', async () => {
    const r = await run(['--from', '2027-01-15', '--to', '2027-01-16', '--by', 'model']);
    expect(r.code).toBe(0);
    expect(Number(r.query?.get('from'))).toBe(Date.UTC(2027, 0, 15));
    expect(Number(r.query?.get('to'))).toBe(Date.UTC(2027, 0, 17));
  });

  it('--json prints the UsageResponse as it came', async () => {
    const answer = response({ spend: SPEND });
    const r = await run(['--json'], answer);
    expect(JSON.parse(r.stdout)).toEqual(answer);
  });

  it.each([
    { name: 'unknown group', args: ['--by', 'week'], message: '--by must be one of bead, role, model, day, rig, agent' },
    { name: 'not a day', args: ['--from', '15/01/2027'], message: '--from must be a day as YYYY-MM-DD' },
    { name: 'no such day', args: ['--to', '2027-02-30'], message: '--to must be a day as YYYY-MM-DD' },
    { name: 'from after to', args: ['--from', '2027-01-16', '--to', '2027-01-15'], message: '--from must not be after --to' },
  ])('$name: exit 2, nothing sent', async ({ args, message }) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`gastown: ${message}`);
    expect(r.requests).toBe(0);
  });
});

describe('spend line (pure)', () => {
  it.each([
    { name: 'ok', spent: 1_000_000, state: 'ok' as const, text: 'spend: $1.00 of $5.00 per day (20 %, ok)', colour: null },
    {
      name: 'just under the cap is not shown as 100 %',
      spent: 4_999_999,
      state: 'warning' as const,
      text: 'spend: $5.00 of $5.00 per day (99 %, warning)',
      colour: 'yellow',
    },
    { name: 'capped', spent: 5_200_000, state: 'capped' as const, text: 'spend: $5.20 of $5.00 per day (104 %, capped)', colour: 'red' },
  ])('$name', ({ spent, state, text, colour }) => {
    const spend = { ...SPEND, spentMicros: spent, spentUsd: spent / 1e6, state };
    expect(spendLine(spend)).toEqual({ text, colour });
    expect(spendPercent(spend)).toBe(Math.floor(spent / 50_000));
  });
});
