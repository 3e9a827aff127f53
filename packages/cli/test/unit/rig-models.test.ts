/**
 * A rig's own polecat/refinery models: `rig add|update --polecat-model/--refinery-model` (none
 * returns a role to the town's model) become the request's `models`; `rig list` shows a MODELS
 * column only when some rig has its own.
 */
import type { Rig } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const NOW = 1_800_000_000_000;

function rig(over: Partial<Rig> = {}): Rig {
  return {
    id: 'rig_web00001',
    townId: TOWN,
    name: 'web',
    gitUrl: 'https://github.com/acme/web.git',
    defaultBranch: 'main',
    createdAt: NOW - 60_000,
    auth: { kind: 'none', appId: null, installationId: null, fingerprint: null },
    mergeStrategy: 'direct',
    provider: { kind: 'github', apiBaseUrl: 'https://api.github.com', repository: 'acme/web', webhookSecretSet: false },
    models: { polecat: null, refinery: null },
    maxPolecats: null,
    setupCommand: null,
    setupTimeoutSeconds: 300,
    instructions: { polecat: null, refinery: null },
    ...over,
  };
}

const HAIKU = rig({ models: { polecat: 'claude-haiku-4-5', refinery: null } });

let server: FakeServer | null = null;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const c of cleanups.splice(0)) c();
});

async function run(args: string[], opts: { rigs?: Rig[]; answer?: Rig } = {}) {
  server = await startFakeServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === `/api/towns/${TOWN}/rigs`) return sendJson(res, 200, { rigs: opts.rigs ?? [rig()] });
    if (req.method === 'POST' || req.method === 'PATCH') return sendJson(res, 200, { rig: opts.answer ?? HAIKU });
    sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'tok' }, { clock: { now: () => NOW } });
  cleanups.push(() => env.remove());
  const code = await runCli([...args, '--town', TOWN], env.sys);
  const sent = server.requests.filter((r) => r.method !== 'GET');
  return { code, stdout: env.stdout(), stderr: env.stderr(), sent, body: sent[0] ? JSON.parse(sent[0].body) : undefined };
}

describe('rig models', () => {
  it('rig add --polecat-model: sent as models; the summary line names them', async () => {
    const r = await run(['rig', 'add', 'web', '/srv/web.git', '--polecat-model', 'claude-haiku-4-5']);
    expect(r.code).toBe(0);
    expect(r.body).toEqual({ name: 'web', gitUrl: '/srv/web.git', models: { polecat: 'claude-haiku-4-5' } });
    expect(r.stdout).toContain('  auth none · merge direct · models polecat=claude-haiku-4-5 refinery=-');
  });

  it.each([
    { name: 'set both', args: ['--polecat-model', 'gpt-5-mini', '--refinery-model', 'o3'], models: { polecat: 'gpt-5-mini', refinery: 'o3' } },
    { name: 'none returns a role to the town', args: ['--refinery-model', 'none'], models: { refinery: null } },
    { name: 'default means the same', args: ['--polecat-model', 'default'], models: { polecat: null } },
  ])('rig update: $name', async ({ args, models }) => {
    const r = await run(['rig', 'update', 'web', ...args]);
    expect(r.code).toBe(0);
    expect(r.sent[0]?.method).toBe('PATCH');
    expect(r.body).toEqual({ models });
  });

  it('a malformed model is refused before any request (exit 2)', async () => {
    const r = await run(['rig', 'update', 'web', '--polecat-model', 'gpt 5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('gastown: --polecat-model must be a model id');
    expect(r.sent).toEqual([]);
  });

  it('rig list: a MODELS column when some rig has its own models, none otherwise', async () => {
    const withModels = await run(['rig', 'list'], { rigs: [rig({ id: 'rig_api00001', name: 'api' }), HAIKU] });
    const lines = withModels.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+BRANCH\s+GIT URL\s+AUTH\s+MERGE\s+WEBHOOK\s+MODELS\s+CREATED$/);
    expect(lines[1]).toMatch(/^rig_api00001\s+api\s.*\s-\s+-\s+\d{4}-/);
    expect(lines[2]).toMatch(/\spolecat=claude-haiku-4-5 refinery=-\s+\d{4}-/);
    await server?.close();
    const without = await run(['rig', 'list']);
    expect(without.stdout.split('\n')[0]).not.toContain('MODELS');
  });
});
