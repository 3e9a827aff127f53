/**
 * What a newcomer reaches for, in-process against a scripted control plane:
 * - `gastown env set NAME` takes the value from stdin only (an extra word is refused without being
 *   echoed), `env list` shows names, `env unset` deletes; one `PATCH …/config {envVars}` each;
 * - `gastown town config [show|set|unset]` edits the same town keys as `gastown config set`;
 * - a town with no model provider: `status` warns (naming the town, the commands, the dashboard's
 *   Settings tab) and `mayor` turns the server's 409 into the same advice.
 */
import type { Agent, Town, TownConfig } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const NOW = 1_800_000_000_000;
const SECRET = 'sk-ant-newcomer-0123456789abcdef';

function config(over: Partial<TownConfig> = {}): TownConfig {
  return {
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
    ...over,
  };
}

const NO_PROVIDER = config({ provider: null, models: null, envVarNames: [] });

function town(c: TownConfig): Town {
  return { id: TOWN, name: 'my-town', ownerId: 'alice', createdAt: NOW - 86_400_000, config: c };
}

let server: FakeServer | null = null;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const c of cleanups.splice(0)) c();
});

interface RunOptions {
  current?: TownConfig;
  stdin?: string;
  agents?: Agent[];
  /** The answer to POST …/mayor/messages (default: 409 as the server gives it without a provider). */
  mayorReply?: { status: number; body: unknown };
}

/** The server holds the town; a PATCH of envVars applies it (names only come back). */
async function run(args: string[], opts: RunOptions = {}) {
  let current = town(opts.current ?? config());
  server = await startFakeServer((req: RecordedRequest, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === `/api/towns/${TOWN}`) return sendJson(res, 200, { town: current });
    if (req.method === 'GET' && path === `/api/towns/${TOWN}/agents`) return sendJson(res, 200, { agents: opts.agents ?? [], nextCursor: null });
    if (req.method === 'PATCH' && path === `/api/towns/${TOWN}/config`) {
      const patch = JSON.parse(req.body) as { envVars?: Record<string, string | null> };
      const names = new Set(current.config.envVarNames);
      for (const [name, value] of Object.entries(patch.envVars ?? {})) {
        if (value === null) names.delete(name);
        else names.add(name);
      }
      current = town({ ...current.config, envVarNames: [...names] });
      return sendJson(res, 200, { town: current });
    }
    if (req.method === 'POST' && path === `/api/towns/${TOWN}/mayor/messages`) {
      const reply = opts.mayorReply ?? {
        status: 409,
        body: { error: { code: 'conflict', message: 'configure a model provider first: town my-town has none (…)' } },
      };
      return sendJson(res, reply.status, reply.body);
    }
    if (req.method === 'GET' && path === `/api/towns/${TOWN}/events`) return sendJson(res, 200, { events: [], nextCursor: null });
    sendJson(res, 404, { error: { code: 'not_found', message: `no route ${req.method} ${path}` } });
  });
  const env = capturedEnv(
    { GASTOWN_URL: server.url, GASTOWN_TOKEN: 'user-token-value', GASTOWN_TOWN: TOWN },
    { clock: { now: () => NOW }, readStdin: async () => opts.stdin ?? '' },
  );
  cleanups.push(() => env.remove());
  const code = await runCli(args, env.sys);
  const patches = server.requests.filter((r) => r.method === 'PATCH').map((r) => JSON.parse(r.body) as unknown);
  return { code, stdout: env.stdout(), stderr: env.stderr(), patches, requests: server.requests };
}

describe('gastown env', () => {
  it('set NAME: the value from stdin (one trailing newline dropped), one PATCH; the value is never printed', async () => {
    const r = await run(['env', 'set', 'OPENROUTER_API_KEY'], { stdin: `${SECRET}\n` });
    expect(r.code).toBe(0);
    expect(r.patches).toEqual([{ envVars: { OPENROUTER_API_KEY: SECRET } }]);
    expect(r.stdout).toBe('OPENROUTER_API_KEY set for town my-town (value not shown)\n');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('set --json: the names, not the value', async () => {
    const r = await run(['--json', 'env', 'set', 'OPENROUTER_API_KEY'], { stdin: SECRET });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ townId: TOWN, name: 'OPENROUTER_API_KEY', set: true, names: ['ANTHROPIC_API_KEY', 'OPENROUTER_API_KEY'] });
    expect(r.stdout).not.toContain(SECRET);
  });

  const refused = [
    {
      name: 'a value on the command line (not echoed)',
      args: ['env', 'set', 'KEY', SECRET],
      stdin: 'x',
      message: 'read from stdin, never from the command line',
    },
    { name: 'an empty stdin', args: ['env', 'set', 'KEY'], stdin: '\n', message: 'no value on stdin' },
    { name: 'a bad name', args: ['env', 'set', '1KEY'], stdin: 'x', message: 'is not an env var name' },
    { name: 'no name', args: ['env', 'set'], stdin: 'x', message: 'missing <NAME>' },
  ];
  it.each(refused)('set refuses $name: exit 2, nothing sent', async ({ args, stdin, message }) => {
    const r = await run(args, { stdin });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.patches).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('list: the names; unset: deletes one (null), and says when there was none', async () => {
    const list = await run(['env', 'list'], { current: config({ envVarNames: ['B_KEY', 'A_KEY'] }) });
    expect(list.stdout).toBe('A_KEY\nB_KEY\n');
    const unset = await run(['env', 'unset', 'ANTHROPIC_API_KEY']);
    expect(unset.patches).toEqual([{ envVars: { ANTHROPIC_API_KEY: null } }]);
    expect(unset.stdout).toContain('ANTHROPIC_API_KEY removed from town my-town');
    const none = await run(['env', 'unset', 'NOPE']);
    expect(none.code).toBe(0);
    expect(none.patches).toEqual([]);
    expect(none.stdout).toContain('town my-town has no env var NOPE');
  });

  it('a typo of the subcommand suggests the right one', async () => {
    const r = await run(['env', 'sett', 'KEY']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown env command "sett"; did you mean "set"?');
  });
});

describe('gastown town config', () => {
  it('set <town key>: the same PATCH as `gastown config set`', async () => {
    const viaTown = await run(['town', 'config', 'set', 'provider.kind', 'openai']);
    const viaConfig = await run(['config', 'set', 'provider.kind', 'openai']);
    expect(viaTown.code).toBe(0);
    expect(viaTown.patches).toEqual([{ provider: { kind: 'openai' } }]);
    expect(viaTown.patches).toEqual(viaConfig.patches);
  });

  it('unset: returns a setting to its default', async () => {
    const r = await run(['town', 'config', 'unset', 'models.polecat']);
    expect(r.patches).toEqual([{ models: { polecat: null } }]);
  });

  it('set of a CLI key is refused, pointing at `gastown config set`', async () => {
    const r = await run(['town', 'config', 'set', 'url', 'http://x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown town setting "url"');
    expect(r.stderr).toContain('gastown config set');
  });

  it('alone (or show): the settings and env var names; without a provider, how to set one up', async () => {
    const ok = await run(['town', 'config']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^provider\s+anthropic/m);
    expect(ok.stdout).toMatch(/^env vars\s+ANTHROPIC_API_KEY$/m);
    expect(ok.stderr).toBe('');
    const bare = await run(['town', 'config', 'show'], { current: NO_PROVIDER });
    expect(bare.stdout).toMatch(/^env vars\s+none$/m);
    expect(bare.stderr).toContain('town my-town (town_aaaaaaaa) has no model provider');
    expect(bare.stderr).toContain('Settings tab');
  });
});

describe('a town without a model provider', () => {
  it('status warns on stderr: the town, the commands in the order the server takes them, the Settings tab', async () => {
    const r = await run(['status'], { current: NO_PROVIDER });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: town my-town (town_aaaaaaaa) has no model provider: no agent can run until it has one');
    const models = r.stderr.indexOf('gastown config set models.default');
    const provider = r.stderr.indexOf('gastown config set provider.kind anthropic --town my-town');
    const key = r.stderr.indexOf('| gastown env set ANTHROPIC_API_KEY --town my-town');
    expect(models).toBeGreaterThan(-1);
    expect(provider).toBeGreaterThan(models);
    expect(key).toBeGreaterThan(provider);
    expect(r.stderr).toContain('open town my-town, Settings tab');
  });

  it('status --json says so; a configured town gets no warning', async () => {
    const bare = await run(['status', '--json'], { current: NO_PROVIDER });
    expect((JSON.parse(bare.stdout) as { providerConfigured: boolean }).providerConfigured).toBe(false);
    const ok = await run(['status']);
    expect(ok.stderr).not.toContain('model provider');
    const okJson = await run(['status', '--json']);
    expect((JSON.parse(okJson.stdout) as { providerConfigured: boolean }).providerConfigured).toBe(true);
  });

  it('a provider but no default model: the models and key steps only; provider and models set: no warning', async () => {
    const r = await run(['status'], { current: config({ envVarNames: [] }) });
    expect(r.stderr).toBe('');
    const noModels = await run(['status'], { current: config({ models: null, envVarNames: [] }) });
    expect(noModels.stderr).toContain('has no default model');
    expect(noModels.stderr).toContain('gastown config set models.default');
    expect(noModels.stderr).not.toContain('provider.kind');
    expect(noModels.stderr).toContain('gastown env set ANTHROPIC_API_KEY');
  });

  it('mayor: the 409 names the town, the commands and the Settings tab (exit 6)', async () => {
    const r = await run(['mayor', 'hello'], { current: NO_PROVIDER });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('gastown: configure a model provider first: town my-town (town_aaaaaaaa) has none, so no agent can run');
    expect(r.stderr).toContain('hint: set one up from the CLI:');
    expect(r.stderr).toContain('gastown config set provider.kind anthropic --town my-town');
    expect(r.stderr).toContain('Settings tab');
  });

  it('mayor: another 409 (the town has a provider) is passed on as it came', async () => {
    const r = await run(['mayor', 'hello'], { mayorReply: { status: 409, body: { error: { code: 'conflict', message: 'the spend cap is reached' } } } });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('gastown: the spend cap is reached');
    expect(r.stderr).not.toContain('Settings tab');
  });
});
