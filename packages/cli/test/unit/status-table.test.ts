import type { Agent, CredentialStatus } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import type { Cell } from '../../src/output/table';
import { lastRefreshAt, needsAttention, sortAgents, STATUS_COLUMNS, statusRow } from '../../src/views/status-table';

const NOW = 1_800_000_000_000;

function agent(overrides: Omit<Partial<Agent>, 'credential'> & { credential?: Partial<Agent['credential']> } = {}): Agent {
  const { credential, ...rest } = overrides;
  return {
    id: 'ag_aaaaaaaa',
    townId: 'town_aaaaaaaa',
    rigId: null,
    session: null,
    role: 'mayor',
    name: 'mayor',
    status: 'working',
    beadId: null,
    statusLine: null,
    lastHeartbeatAt: NOW - 5_000,
    containerInstanceId: 'c1',
    createdAt: NOW - 3_600_000,
    isolation: 'uid+namespaces',
    ...rest,
    credential: {
      gen: 1,
      tokenIssuedAt: NOW - 600_000,
      tokenExpiresAt: NOW + 3_000_000,
      lastRefreshAt: NOW - 600_000,
      refreshCount: 4,
      reported: null,
      reportedAt: null,
      state: 'healthy',
      ...credential,
    },
  };
}

function reported(overrides: Partial<CredentialStatus> = {}): CredentialStatus {
  return {
    accessTokenExpiresAt: NOW + 3_000_000,
    tokenFingerprint: '0123abcd',
    nextRefreshAt: NOW + 1_000_000,
    lastRefreshAt: NOW - 60_000,
    lastRefreshSource: 'pull',
    refreshCount: 4,
    consecutiveFailures: 0,
    unauthorizedCount: 0,
    lastError: null,
    state: 'valid',
    ...overrides,
  };
}

const text = (cell: Cell | undefined) => (typeof cell === 'string' ? cell : (cell?.text ?? ''));
const colour = (cell: Cell | undefined) => (typeof cell === 'string' || !cell ? null : (cell.colour ?? null));
const col = (header: string) => STATUS_COLUMNS.findIndex((c) => c.header === header);

describe('status row', () => {
  it('a healthy agent: every column, nothing coloured', () => {
    const row = statusRow(agent({ beadId: 'bd_bbbbbbbb', credential: { reported: reported() } }), NOW);
    const cells = ['mayor', 'mayor', 'ag_aaaaaaaa', 'working', 'uid+namespaces', 'bd_bbbbbbbb', '5s ago', 'healthy', '50m', '1m ago', '4', '0', '0'];
    expect(row.map(text)).toEqual(cells);
    expect(needsAttention([row])).toBe(false);
  });

  it('isolation: the reported level, or unknown before the first heartbeat', () => {
    expect(text(statusRow(agent({ isolation: 'none' }), NOW)[col('ISOLATION')])).toBe('none');
    expect(text(statusRow(agent({ isolation: null }), NOW)[col('ISOLATION')])).toBe('-');
  });

  it('no broker report: failures and 401s are unknown, not zero', () => {
    const row = statusRow(agent(), NOW);
    expect([text(row[col('FAILURES')]), text(row[col('401s')])]).toEqual(['-', '-']);
  });

  const cases: { name: string; agent: Agent; column: string; colour: 'red' | 'yellow' }[] = [
    { name: 'failed agent', agent: agent({ status: 'failed' }), column: 'STATUS', colour: 'red' },
    { name: 'stale heartbeat', agent: agent({ lastHeartbeatAt: NOW - 120_000 }), column: 'HEARTBEAT', colour: 'yellow' },
    { name: 'dead heartbeat', agent: agent({ lastHeartbeatAt: NOW - 600_000 }), column: 'HEARTBEAT', colour: 'red' },
    { name: 'working without any heartbeat', agent: agent({ lastHeartbeatAt: null }), column: 'HEARTBEAT', colour: 'yellow' },
    { name: 'expiring credential', agent: agent({ credential: { state: 'expiring' } }), column: 'CREDENTIAL', colour: 'yellow' },
    { name: 'degraded credential', agent: agent({ credential: { state: 'degraded' } }), column: 'CREDENTIAL', colour: 'red' },
    {
      name: 'expired credential of a live agent',
      agent: agent({ credential: { state: 'expired', tokenExpiresAt: NOW - 1000 } }),
      column: 'CREDENTIAL',
      colour: 'red',
    },
    { name: 'token past expiry for a live agent', agent: agent({ credential: { tokenExpiresAt: NOW - 1000 } }), column: 'EXPIRES IN', colour: 'red' },
    { name: 'refresh failures', agent: agent({ credential: { reported: reported({ consecutiveFailures: 1 }) } }), column: 'FAILURES', colour: 'yellow' },
    { name: 'many refresh failures', agent: agent({ credential: { reported: reported({ consecutiveFailures: 3 }) } }), column: 'FAILURES', colour: 'red' },
    { name: '401s seen', agent: agent({ credential: { reported: reported({ unauthorizedCount: 2 }) } }), column: '401s', colour: 'yellow' },
  ];
  for (const c of cases) {
    it(`colours ${c.name}`, () => {
      const row = statusRow(c.agent, NOW);
      expect(colour(row[col(c.column)])).toBe(c.colour);
      expect(needsAttention([row])).toBe(true);
    });
  }

  it('a stopped agent with a revoked, expired credential and an old heartbeat is not an alarm', () => {
    const row = statusRow(agent({ status: 'stopped', lastHeartbeatAt: NOW - 3_600_000, credential: { state: 'revoked', tokenExpiresAt: NOW - 60_000 } }), NOW);
    expect(text(row[col('EXPIRES IN')])).toBe('expired 1m ago');
    expect(needsAttention([row])).toBe(false);
  });

  it('last refresh is the newer of the control plane and the broker', () => {
    expect(lastRefreshAt(agent({ credential: { lastRefreshAt: 10, reported: reported({ lastRefreshAt: 20 }) } }))).toBe(20);
    expect(lastRefreshAt(agent({ credential: { lastRefreshAt: 30, reported: reported({ lastRefreshAt: 20 }) } }))).toBe(30);
    expect(lastRefreshAt(agent({ credential: { lastRefreshAt: null, reported: null } }))).toBeNull();
  });

  it('sorts mayor, refineries, polecats, oldest first', () => {
    const p2 = agent({ id: 'ag_pppp2222', role: 'polecat', createdAt: 3 });
    const p1 = agent({ id: 'ag_pppp1111', role: 'polecat', createdAt: 2 });
    const r = agent({ id: 'ag_rrrrrrrr', role: 'refinery', createdAt: 9 });
    const m = agent({ id: 'ag_mmmmmmmm', role: 'mayor', createdAt: 10 });
    expect(sortAgents([p2, r, p1, m]).map((a) => a.id)).toEqual(['ag_mmmmmmmm', 'ag_rrrrrrrr', 'ag_pppp1111', 'ag_pppp2222']);
  });
});
