/**
 * `gastown config set|unset|show` for the town's model settings, in-process against a scripted
 * control plane: each key becomes one `PATCH …/config` body built from the town's current config;
 * bad values are refused before anything is sent (exit 2, never echoing what may be a key);
 * `config show` prints the provider (the key's env var NAME), the models per role with
 * "(default)" for fallbacks, the spend cap and price overrides.
 */
import type { Town, TownConfig } from '@gastown/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { capturedEnv } from '../support/fake-env';
import { sendJson, startFakeServer, type FakeServer, type RecordedRequest } from '../support/fake-server';

const TOWN = 'town_aaaaaaaa';
const NOW = 1_800_000_000_000;

function config(over: Partial<TownConfig> = {}): TownConfig {
  return {
    provider: { kind: 'anthropic', baseUrl: 'https://api.anthropic.com/v1', apiKeyEnvVar: 'ANTHROPIC_API_KEY' },
    runtime: 'opencode',
    envVarNames: ['ANTHROPIC_API_KEY'],
    sleepAfterSeconds: 1800,
    agentTokenTtlSeconds: 3600,
    models: { default: 'claude-sonnet-4-5', mayor: null, polecat: 'claude-haiku-4-5', refinery: null, small: null, allowed: [] },
    prices: {},
    spendCap: null,
    maxPolecats: null,
    instructions: { mayor: null, polecat: null, refinery: null },
    ...over,
  };
}

function town(c: TownConfig = config()): Town {
  return { id: TOWN, name: 'my-town', ownerId: 'alice', createdAt: NOW - 86_400_000, config: c };
}

let server: FakeServer | null = null;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  for (const c of cleanups.splice(0)) c();
});

type Reply = (req: RecordedRequest) => { status: number; body: unknown };

/** The server holds `current`; a PATCH answers `reply` (default: the town unchanged). */
async function run(args: string[], opts: { current?: TownConfig; reply?: Reply; env?: Record<string, string> } = {}) {
  const current = town(opts.current);
  server = await startFakeServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === `/api/towns/${TOWN}`) return sendJson(res, 200, { town: current });
    if (req.method === 'PATCH' && path === `/api/towns/${TOWN}/config`) {
      const { status, body } = opts.reply ? opts.reply(req) : { status: 200, body: { town: current } };
      return sendJson(res, status, body);
    }
    sendJson(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  const env = capturedEnv({ GASTOWN_URL: server.url, GASTOWN_TOKEN: 'user-token-value', GASTOWN_TOWN: TOWN, ...opts.env }, { clock: { now: () => NOW } });
  cleanups.push(() => env.remove());
  const code = await runCli(args, env.sys);
  const patches = server.requests.filter((r) => r.method === 'PATCH');
  return { code, stdout: env.stdout(), stderr: env.stderr(), patches, body: patches[0] ? JSON.parse(patches[0].body) : undefined };
}

describe('config set <town key>: one PATCH built from the current config', () => {
  const custom = config({ provider: { kind: 'openai-compatible', baseUrl: 'http://llm.internal/v1', apiKeyEnvVar: 'LLM_KEY' } });
  it.each([
    { name: 'provider.kind: the kind with its defaults', args: ['provider.kind', 'openai'], body: { provider: { kind: 'openai' } } },
    {
      name: 'provider.kind openai-compatible keeps the current base URL',
      args: ['provider.kind', 'openai-compatible'],
      body: { provider: { kind: 'openai-compatible', baseUrl: 'https://api.anthropic.com/v1' } },
    },
    { name: 'provider.kind none removes the provider', args: ['provider.kind', 'none'], body: { provider: null } },
    { name: 'provider none', args: ['provider', 'none'], body: { provider: null } },
    {
      name: 'provider.baseUrl keeps the kind and key var (trailing slash dropped)',
      args: ['provider.baseUrl', 'https://proxy.example.com/v1/'],
      body: { provider: { kind: 'anthropic', baseUrl: 'https://proxy.example.com/v1', apiKeyEnvVar: 'ANTHROPIC_API_KEY' } },
    },
    {
      name: 'provider.baseUrl without a provider: an openai-compatible one',
      args: ['provider.baseUrl', 'http://127.0.0.1:9999/v1'],
      current: config({ provider: null }),
      body: { provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9999/v1' } },
    },
    {
      name: 'provider.baseUrl default',
      args: ['provider.baseUrl', 'default'],
      body: { provider: { kind: 'anthropic', apiKeyEnvVar: 'ANTHROPIC_API_KEY' } },
    },
    {
      name: 'provider.apiKeyEnvVar',
      args: ['provider.apiKeyEnvVar', 'TEAM_ANTHROPIC_KEY'],
      body: { provider: { kind: 'anthropic', baseUrl: 'https://api.anthropic.com/v1', apiKeyEnvVar: 'TEAM_ANTHROPIC_KEY' } },
    },
    {
      name: 'provider.apiKeyEnvVar none: no key',
      args: ['provider.apiKeyEnvVar', 'none'],
      current: custom,
      body: { provider: { kind: 'openai-compatible', baseUrl: 'http://llm.internal/v1', apiKeyEnvVar: null } },
    },
    { name: 'models.default', args: ['models.default', 'claude-opus-4-5'], body: { models: { default: 'claude-opus-4-5' } } },
    { name: 'models.polecat', args: ['models.polecat', 'anthropic/claude-haiku-4.5'], body: { models: { polecat: 'anthropic/claude-haiku-4.5' } } },
    { name: 'models.polecat none', args: ['models.polecat', 'none'], body: { models: { polecat: null } } },
    { name: 'models.refinery default', args: ['models.refinery', 'default'], body: { models: { refinery: null } } },
    { name: 'models.allowed (a list, duplicates dropped)', args: ['models.allowed', 'gpt-5, o3,gpt-5'], body: { models: { allowed: ['gpt-5', 'o3'] } } },
    { name: 'models.allowed none', args: ['models.allowed', 'none'], body: { models: { allowed: [] } } },
    { name: 'spendCap.limitUsd: per day unless set', args: ['spendCap.limitUsd', '$5'], body: { spendCap: { period: 'day', limitUsd: 5 } } },
    {
      name: 'spendCap.limitUsd keeps the period',
      args: ['spendCap.limitUsd', '12.50'],
      current: config({ spendCap: { period: 'month', limitUsd: 100 } }),
      body: { spendCap: { period: 'month', limitUsd: 12.5 } },
    },
    {
      name: 'spendCap.period keeps the limit',
      args: ['spendCap.period', 'month'],
      current: config({ spendCap: { period: 'day', limitUsd: 5 } }),
      body: { spendCap: { period: 'month', limitUsd: 5 } },
    },
    { name: 'spendCap none', args: ['spendCap', 'none'], body: { spendCap: null } },
    { name: 'prices.<model> in/out', args: ['prices.my-model', '0.5/1.5'], body: { prices: { 'my-model': { inputPerMTok: 0.5, outputPerMTok: 1.5 } } } },
    {
      name: 'prices.<model> with cache prices',
      args: ['prices.claude-sonnet-4-5', '3/15/0.3/3.75'],
      body: { prices: { 'claude-sonnet-4-5': { inputPerMTok: 3, outputPerMTok: 15, cacheReadPerMTok: 0.3, cacheWritePerMTok: 3.75 } } },
    },
    { name: 'prices.<model> none', args: ['prices.gpt-5', 'none'], body: { prices: { 'gpt-5': null } } },
    { name: 'maxPolecats', args: ['maxPolecats', '3'], body: { maxPolecats: 3 } },
    { name: "maxPolecats none: the deployment's default", args: ['maxPolecats', 'none'], body: { maxPolecats: null } },
    {
      name: 'instructions.<role>',
      args: ['instructions.polecat', 'Run npm test before gt_done.'],
      body: { instructions: { polecat: 'Run npm test before gt_done.' } },
    },
    { name: 'instructions.<role> none', args: ['instructions.mayor', 'none'], body: { instructions: { mayor: null } } },
  ])('$name', async ({ args, body, current }) => {
    const r = await run(['config', 'set', ...args], { current });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.patches).toHaveLength(1);
    expect(r.body).toEqual(body);
    expect(r.stdout.split('\n')[0]).toBe(`${args[0]} = ${args[1]} (town my-town)`);
  });

  it.each([
    { name: 'unset models.mayor', args: ['models.mayor'], body: { models: { mayor: null } } },
    { name: 'unset spendCap', args: ['spendCap'], body: { spendCap: null } },
    { name: 'unset prices.<model>', args: ['prices.o3'], body: { prices: { o3: null } } },
    { name: 'unset maxPolecats', args: ['maxPolecats'], body: { maxPolecats: null } },
    { name: 'unset instructions.refinery', args: ['instructions.refinery'], body: { instructions: { refinery: null } } },
    {
      name: 'unset provider.apiKeyEnvVar: the kind default',
      args: ['provider.apiKeyEnvVar'],
      body: { provider: { kind: 'anthropic', baseUrl: 'https://api.anthropic.com/v1' } },
    },
  ])('config $name', async ({ args, body }) => {
    const r = await run(['config', 'unset', ...args]);
    expect(r.code).toBe(0);
    expect(r.body).toEqual(body);
  });

  it('--json: the key, the value and the config the server answered', async () => {
    const after = config({ spendCap: { period: 'day', limitUsd: 5 } });
    const r = await run(['config', 'set', 'spendCap.limitUsd', '5', '--json'], { reply: () => ({ status: 200, body: { town: town(after) } }) });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ townId: TOWN, key: 'spendCap.limitUsd', value: '5', config: after });
  });
});

describe('config set <town key>: refused before anything is sent', () => {
  it.each([
    { name: 'unknown role', args: ['models.architect', 'x'], message: 'unknown key "models.architect"' },
    { name: 'unknown provider part', args: ['provider.model', 'x'], message: 'unknown key "provider.model"' },
    { name: 'unknown kind', args: ['provider.kind', 'azure'], message: 'provider.kind must be one of openai-compatible, anthropic, openai, openrouter, kilo' },
    { name: 'not a URL', args: ['provider.baseUrl', 'nope'], message: 'provider.baseUrl: ' },
    { name: 'a model id with a space', args: ['models.polecat', 'gpt 5'], message: 'models.polecat: must be a model id' },
    { name: 'models.default cannot be cleared', args: ['models.default', 'none'], message: 'models.default cannot be cleared' },
    { name: 'a price that is not in/out', args: ['prices.gpt-5', '3'], message: 'prices.gpt-5 must be in/out[/cacheRead/cacheWrite]' },
    { name: 'not an amount', args: ['spendCap.limitUsd', 'five'], message: 'spendCap.limitUsd must be an amount in US dollars' },
    { name: 'a zero cap', args: ['spendCap.limitUsd', '0'], message: 'spendCap.limitUsd: ' },
    { name: 'a period without a cap', args: ['spendCap.period', 'month'], message: 'the town has no spend cap' },
    { name: 'a bad period', args: ['spendCap.period', 'week'], message: 'spendCap.period must be day or month' },
    { name: 'spendCap takes only none', args: ['spendCap', '5'], message: 'spendCap takes only none' },
    { name: '--global is for CLI settings', args: ['models.default', 'gpt-5', '--global'], message: '--global is for the CLI' },
    { name: 'maxPolecats 0', args: ['maxPolecats', '0'], message: 'maxPolecats must be a whole number from 1 to 100' },
    { name: 'maxPolecats not a number', args: ['maxPolecats', 'many'], message: 'maxPolecats must be a whole number from 1 to 100' },
    { name: 'instructions of an unknown role', args: ['instructions.architect', 'x'], message: 'unknown key "instructions.architect"' },
  ])('$name (exit 2)', async ({ args, message }) => {
    const r = await run(['config', 'set', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`gastown: ${message}`);
    expect(r.patches).toEqual([]);
  });

  it('openai-compatible without a base URL to keep: says how to give one', async () => {
    const r = await run(['config', 'set', 'provider.kind', 'openai-compatible'], { current: config({ provider: null }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('gastown: an openai-compatible provider needs its base URL');
    expect(r.stderr).toContain('hint: set it with `gastown config set provider.baseUrl <url>`');
  });

  it('provider.apiKeyEnvVar given something that is not a NAME (a key?): refused without repeating it', async () => {
    const key = 'sk-ant-api03-SecretKeyValue0123456789';
    const r = await run(['config', 'set', 'provider.apiKeyEnvVar', key]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('provider.apiKeyEnvVar takes the NAME of a town env var');
    expect(r.stdout + r.stderr).not.toContain(key);
    expect(r.patches).toEqual([]);
  });

  it("the server's refusal of a provider on a town without a model: exit 2 with a hint to set models.default first", async () => {
    const r = await run(['config', 'set', 'provider.kind', 'openai'], {
      current: config({ provider: null, models: null }),
      reply: () => ({ status: 400, body: { error: { code: 'validation_failed', message: 'body.models.default: a provider needs a default model' } } }),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('gastown: the server refused the input: body.models.default');
    expect(r.stderr).toContain('hint: a provider needs a default model: `gastown config set models.default <model>` first');
  });

  it('an unknown key names the town keys too; a CLI key still goes to the file', async () => {
    const r = await run(['config', 'set', 'colour', 'red']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hint: town settings: provider.kind');
    const cli = await run(['config', 'set', 'town', TOWN]);
    expect(cli.code).toBe(0);
    expect(cli.patches).toEqual([]);
  });
});

describe('config show: the town section', () => {
  it('provider (key env var name only), models per role with (default), spend cap, prices', async () => {
    const r = await run(['config', 'show'], {
      current: config({
        models: { default: 'claude-sonnet-4-5', mayor: null, polecat: 'claude-haiku-4-5', refinery: null, small: 'claude-haiku-4-5', allowed: ['gpt-5'] },
        spendCap: { period: 'day', limitUsd: 5 },
        prices: { 'my-model': { inputPerMTok: 0.5, outputPerMTok: 1.5, cacheReadPerMTok: 0.05 } },
        maxPolecats: 2,
        instructions: { mayor: null, polecat: 'Run npm test\nbefore gt_done.', refinery: null },
      }),
    });
    expect(r.code).toBe(0);
    const town = r.stdout.slice(r.stdout.indexOf('town my-town'));
    expect(town.trimEnd().split('\n')).toEqual([
      `town my-town (${TOWN})`,
      'provider      anthropic  https://api.anthropic.com/v1  key: $ANTHROPIC_API_KEY',
      'models        default   claude-sonnet-4-5',
      '              mayor     claude-sonnet-4-5 (default)',
      '              polecat   claude-haiku-4-5',
      '              refinery  claude-sonnet-4-5 (default)',
      '              small     claude-haiku-4-5',
      '              allowed   gpt-5',
      'spend cap     $5.00 per day',
      'prices        my-model  in $0.5 · out $1.5 · cache read $0.05 per MTok',
      'polecats      at most 2 at once',
      'instructions  polecat   Run npm test before gt_done.',
    ]);
  });

  it('a town without a provider or models says how to set them; a legacy provider.model reads as the default', async () => {
    const none = await run(['config', 'show'], { current: config({ provider: null, models: null }) });
    expect(none.stdout).toContain('provider      (not set: `gastown config set provider.kind <kind>`)');
    expect(none.stdout).toContain('models        (not set: `gastown config set models.default <model>`)');
    expect(none.stdout).toContain('spend cap     none');
    const legacy = await run(['config', 'show'], {
      current: config({ provider: { kind: 'openai-compatible', baseUrl: 'http://x/v1', apiKeyEnvVar: null, model: 'old-model' }, models: null }),
    });
    expect(legacy.stdout).toContain('key: none');
    expect(legacy.stdout).toContain('              polecat   old-model (default)');
  });

  it('--json carries townConfig; without a token the town part is skipped with a note, exit 0', async () => {
    const json = await run(['config', 'show', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ townConfig: { id: TOWN, name: 'my-town', config: config() }, townConfigError: null });
    const noToken = await run(['config', 'show'], { env: { GASTOWN_TOKEN: '' } });
    expect(noToken.code).toBe(0);
    expect(noToken.stderr).toContain('town settings not shown: no token configured');
  });
});
