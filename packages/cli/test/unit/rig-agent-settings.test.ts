/**
 * A rig's agent settings from `rig add|update`: `--max-polecats`, `--setup-command`,
 * `--setup-timeout` and `--polecat-instructions`/`--refinery-instructions` (none clears a value)
 * become the request's `maxPolecats`, `setupCommand`, `setupTimeoutSeconds` and `instructions`;
 * a bad value is refused before any request.
 */
import type { Rig } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const NOW = 1_800_000_000_000;

const RIG: Rig = {
  id: 'rig_web00001',
  townId: TOWN,
  name: 'web',
  gitUrl: '/srv/web.git',
  defaultBranch: 'main',
  createdAt: NOW - 60_000,
  auth: { kind: 'none', appId: null, installationId: null, fingerprint: null },
  mergeStrategy: 'direct',
  provider: { kind: 'github', apiBaseUrl: 'https://api.github.com', repository: null, webhookSecretSet: false },
  models: { polecat: null, refinery: null },
  maxPolecats: null,
  setupCommand: null,
  setupTimeoutSeconds: 300,
  instructions: { polecat: null, refinery: null },
};

let server: FakeServer | null = null;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const c of cleanups.splice(0)) c();
});

async function run(args: string[]) {
  server = await startFakeServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === `/api/towns/${TOWN}/rigs`) return sendJson(res, 200, { rigs: [RIG] });
    if (req.method === 'POST' || req.method === 'PATCH') return sendJson(res, 200, { rig: RIG });
    sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' }, { clock: { now: () => NOW } });
  cleanups.push(() => env.remove());
  const code = await runCli([...args, '--town', TOWN], env.sys);
  const sent = server.requests.filter((r) => r.method !== 'GET');
  return { code, stderr: env.stderr(), sent, body: sent[0] ? JSON.parse(sent[0].body) : undefined };
}

describe('rig agent settings', () => {
  it('rig add with a setup command, a polecat limit and polecat instructions', async () => {
    const r = await run([
      'rig',
      'add',
      'web',
      '/srv/web.git',
      '--setup-command',
      'npm ci',
      '--setup-timeout',
      '600',
      '--max-polecats',
      '2',
      '--polecat-instructions',
      'Run npm test first.',
    ]);
    expect(r.code).toBe(0);
    expect(r.body).toEqual({
      name: 'web',
      gitUrl: '/srv/web.git',
      maxPolecats: 2,
      setupCommand: 'npm ci',
      setupTimeoutSeconds: 600,
      instructions: { polecat: 'Run npm test first.' },
    });
  });

  it.each([
    {
      name: 'none removes the setup command and the limit',
      args: ['--setup-command', 'none', '--max-polecats', 'none'],
      body: { maxPolecats: null, setupCommand: null },
    },
    { name: "none returns a role's instructions to the town's", args: ['--refinery-instructions', 'none'], body: { instructions: { refinery: null } } },
  ])('rig update: $name', async ({ args, body }) => {
    const r = await run(['rig', 'update', 'web', ...args]);
    expect(r.code).toBe(0);
    expect(r.sent[0]?.method).toBe('PATCH');
    expect(r.body).toEqual(body);
  });

  it.each([
    { args: ['--max-polecats', '0'], message: '--max-polecats' },
    { args: ['--max-polecats', 'lots'], message: '--max-polecats' },
    { args: ['--setup-timeout', '2'], message: '--setup-timeout' },
    { args: ['--setup-timeout', '9000'], message: '--setup-timeout' },
  ])('refused before any request: $args', async ({ args, message }) => {
    const r = await run(['rig', 'update', 'web', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`gastown: ${message}`);
    expect(r.sent).toEqual([]);
  });
});
