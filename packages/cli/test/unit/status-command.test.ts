/**
 * `gastown status` in-process against a scripted control plane: the agents table, then the
 * mayor's saved conversation (`mayor session: …`) or that none is saved yet; --json carries each
 * agent's `session` as the API gave it.
 */
import type { Agent, SessionSnapshotSummary, Town } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const NOW = 1_800_000_000_000;

const town: Town = {
  id: TOWN,
  name: 'my-town',
  ownerId: 'alice',
  createdAt: NOW - 86_400_000,
  config: {
    // a configured town: a town without a provider gets a warning on stderr (newcomer-commands.test.ts)
    provider: { kind: 'anthropic', baseUrl: 'https://api.anthropic.com/v1', apiKeyEnvVar: 'ANTHROPIC_API_KEY' },
    runtime: 'opencode',
    envVarNames: ['ANTHROPIC_API_KEY'],
    sleepAfterSeconds: 1800,
    agentTokenTtlSeconds: 3600,
    models: { default: 'claude-sonnet-4-5', mayor: null, polecat: null, refinery: null, small: null, allowed: [] },
    prices: {},
    spendCap: null,
    maxPolecats: null,
    instructions: { mayor: null, polecat: null, refinery: null },
  },
};

function agent(role: Agent['role'], id: string, session: SessionSnapshotSummary | null): Agent {
  return {
    id,
    townId: TOWN,
    rigId: null,
    role,
    name: role === 'mayor' ? 'mayor' : 'polecat-1',
    status: 'waiting',
    beadId: null,
    statusLine: null,
    lastHeartbeatAt: NOW - 3_000,
    containerInstanceId: 'c1',
    createdAt: NOW - 3_600_000,
    isolation: 'uid+namespaces',
    session,
    credential: {
      gen: 1,
      tokenIssuedAt: NOW - 60_000,
      tokenExpiresAt: NOW + 3_000_000,
      lastRefreshAt: NOW - 60_000,
      refreshCount: 1,
      reported: null,
      reportedAt: null,
      state: 'healthy',
    },
  };
}

const SAVED: SessionSnapshotSummary = {
  savedAt: NOW - 180_400,
  storedAt: NOW - 180_000,
  bytes: 48 * 1024 + 100,
  rawBytes: 400_000,
  turns: 12,
  droppedTurns: 0,
  reason: 'waiting',
};

let server: FakeServer | null = null;
const envs: { remove(): void }[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const e of envs.splice(0)) e.remove();
});

async function status(agents: readonly unknown[], extra: string[] = []) {
  server = await startFakeServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === `/api/towns/${TOWN}`) return sendJson(res, 200, { town });
    if (path === `/api/towns/${TOWN}/agents`) return sendJson(res, 200, { agents, nextCursor: null });
    sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' }, { clock: { now: () => NOW } });
  envs.push(env);
  const code = await runCli(['status', '--town', TOWN, ...extra], env.sys);
  return { code, stdout: env.stdout(), stderr: env.stderr() };
}

describe('gastown status: the mayor session line', () => {
  it('a saved conversation: when (relative), turns and the stored size, under the table', async () => {
    const r = await status([agent('mayor', 'ag_mayor000', SAVED), agent('polecat', 'ag_polecat1', null)]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`town my-town (${TOWN}): 2 agents`);
    expect(lines[1]).toMatch(/^ROLE\s+NAME/);
    expect(lines.at(-1)).toBe('mayor session: saved 3m ago · 12 turns · 48 KiB');
  });

  it('turns dropped by the size policy are said', async () => {
    const r = await status([agent('mayor', 'ag_mayor000', { ...SAVED, turns: 1, droppedTurns: 40, bytes: 3 * 1024 * 1024 })]);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('mayor session: saved 3m ago · 1 turn · 3 MiB · 40 older turns dropped');
  });

  it('none saved yet', async () => {
    const r = await status([agent('mayor', 'ag_mayor000', null)]);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('mayor session: none saved yet');
  });

  it('an agent from a server that does not send `session` yet reads as none saved', async () => {
    const { session: _omitted, ...old } = agent('mayor', 'ag_mayor000', null);
    const r = await status([old]);
    expect(r.stdout).toContain('mayor session: none saved yet');
  });

  it('no mayor yet: no session line', async () => {
    const r = await status([]);
    expect(r.stdout).toBe(`town my-town (${TOWN}): 0 agents\n`);
  });

  it('--json: each agent carries `session` as the API gave it', async () => {
    const r = await status([agent('mayor', 'ag_mayor000', SAVED), agent('polecat', 'ag_polecat1', null)], ['--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { agents: Agent[]; at: number };
    expect(json.agents.map((a) => [a.role, a.session])).toEqual([
      ['mayor', SAVED],
      ['polecat', null],
    ]);
    expect(json.at).toBe(NOW);
  });
});
