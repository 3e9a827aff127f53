/**
 * `gastown config show`, `gastown config set <key> <value>`, `gastown config unset <key>`: the
 * CLI's own settings (url, token, town, admin-secret: a config file) and the town's model
 * settings (provider, models per role, prices, spend cap: stored by the server, see
 * ../town-config/town-config-keys.ts).
 */
import type { Town } from '@gastown/protocol';
import { TOWN_HELP } from '../args';
import { ApiClient } from '../client/api-client';
import { normaliseUrl, type Setting } from '../config/settings';
import { readConfigFile, userConfigPath, writeConfigFile, type CliConfigFile } from '../config/config-file';
import type { CliEnvironment, CommandContext } from '../context';
import { CliError } from '../errors';
import { maskSecret } from '../output/redact';
import { parseTownKey, TOWN_KEYS_HELP, townConfigPatch, unsetValue, type TownConfigPatch, type TownKey } from '../town-config/town-config-keys';
import { resolveTownId } from '../town-resolution';
import { townConfigLines, townModels } from '../views/town-config-view';
import { runGroup, runWith, type Command } from './command';

/** Settable keys → config-file fields. */
const KEYS = { url: 'url', token: 'token', town: 'town', 'admin-secret': 'adminSecret' } as const;
type Key = keyof typeof KEYS;
const KEY_LIST = Object.keys(KEYS).join(', ');
/** `config show` asks the server for the town's settings; it does not wait long for an unreachable one. */
const SHOW_TOWN_TIMEOUT_MS = 5_000;

const SHOW = {
  usage: `usage: gastown config show [--town <id|name>]

Where each setting comes from (flag, environment, config file, default). Secrets are masked:
only a fingerprint (first 8 hex of their SHA-256) is shown.
Then, when a token is configured, the town's model settings: provider (kind, base URL, the NAME
of the env var holding its key), the model of each role ("(default)" where a role falls back to
models.default), the spend cap and price overrides. With --json: \`townConfig\` ({id, name,
config}, or null with \`townConfigError\` saying why).

Options:
${TOWN_HELP}`,
  options: { town: { type: 'string' }, 'admin-secret': { type: 'string' } },
} as const;

const SET = {
  usage: `usage: gastown config set <key> <value> [--global] [--town <id|name>]

CLI settings (${KEY_LIST}) go in the config file: the project's
.gastown/cli.json when there is one (in this or a parent directory), else
~/.config/gastown/cli.json. A value of - is read from stdin (keeps a token out of your shell
history).

${TOWN_KEYS_HELP}

Options:
  --global           write ~/.config/gastown/cli.json even inside a project (CLI settings)
${TOWN_HELP}

Examples:
  gastown config set url http://127.0.0.1:8787
  gastown config set town town_8f3k2a9d
  pbpaste | gastown config set token -
  gastown config set provider.kind anthropic
  gastown config set models.default claude-sonnet-4-5
  gastown config set models.polecat claude-haiku-4-5
  gastown config set spendCap.limitUsd 5
  gastown config set prices.my-model 0.5/1.5`,
  options: { global: { type: 'boolean' }, town: { type: 'string' } },
  positionals: { names: ['key', 'value'], min: 2, max: 2 },
} as const;

const UNSET = {
  usage: `usage: gastown config unset <key> [--global] [--town <id|name>]

Remove a CLI setting from the config file (${KEY_LIST}), or return a town setting to its
default: models.<role> falls back to models.default, provider.baseUrl/apiKeyEnvVar to the kind's,
spendCap removes the cap, prices.<model> the override, provider.kind the provider.`,
  options: { global: { type: 'boolean' }, town: { type: 'string' } },
  positionals: { names: ['key'], min: 1, max: 1 },
} as const;

function parseKey(raw: string): Key {
  if (raw in KEYS) return raw as Key;
  if (raw === 'adminSecret') return 'admin-secret';
  throw new CliError('usage', `unknown key ${JSON.stringify(raw)}: use one of ${KEY_LIST}`, {
    hint: 'town settings: provider.kind, provider.baseUrl, provider.apiKeyEnvVar, models.<role>, models.allowed, spendCap.limitUsd, spendCap.period, prices.<model> (`gastown config set --help`)',
  });
}

function targetPath(ctx: CommandContext): string {
  if (ctx.args.values.global === true) return userConfigPath(ctx.sys.home, ctx.sys.env.XDG_CONFIG_HOME ?? null);
  return ctx.configLocation().path;
}

function describe(setting: Setting<string | null>, secret: boolean) {
  return { value: secret ? maskSecret(setting.value) : setting.value, source: setting.source, origin: setting.origin };
}

async function show(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, SHOW, async (ctx) => {
    const s = ctx.settings();
    const location = ctx.configLocation();
    const loaded = await loadTown(ctx);
    const view = {
      configFile: { path: location.path, kind: location.kind, exists: location.exists },
      url: describe(s.url, false),
      token: describe(s.token, true),
      town: describe(s.town, false),
      adminSecret: describe(s.adminSecret, true),
      townConfig: loaded.town ? { id: loaded.town.id, name: loaded.town.name, config: loaded.town.config } : null,
      townConfigError: loaded.reason,
    };
    if (ctx.json) {
      ctx.out.json(view);
      return 0;
    }
    ctx.out.line(`config file   ${location.path}${location.exists ? '' : ' (does not exist)'}`);
    for (const [name, entry] of [
      ['url', view.url],
      ['token', view.token],
      ['town', view.town],
      ['admin secret', view.adminSecret],
    ] as const) {
      ctx.out.line(`${name.padEnd(13)} ${entry.value ?? '(not set)'}${entry.source === 'none' ? '' : `  [${entry.origin}]`}`);
    }
    if (loaded.town) ctx.out.line(['', ...townConfigLines(loaded.town)].join('\n'));
    else ctx.out.note(`town settings not shown: ${loaded.reason}`);
    return 0;
  });
}

/** The town `config show` describes, or why it cannot (no token, no town, an unreachable server). */
async function loadTown(ctx: CommandContext): Promise<{ town: Town | null; reason: string | null }> {
  const s = ctx.settings();
  if (s.token.value === null) return { town: null, reason: 'no token configured' };
  const client = new ApiClient({ baseUrl: s.url.value, token: s.token.value, fetch: ctx.sys.fetch, timeoutMs: SHOW_TOWN_TIMEOUT_MS });
  try {
    return { town: await client.getTown(await resolveTownId(client, s.town)), reason: null };
  } catch (err) {
    if (err instanceof CliError && err.code !== 'interrupted') return { town: null, reason: err.message };
    throw err;
  }
}

/** A refused provider change on a town with no model yet: say which setting comes first. */
function withModelHint(err: unknown, patch: TownConfigPatch, town: Town): unknown {
  if (!(err instanceof CliError) || err.code !== 'invalid_input' || !patch.provider || townModels(town.config) !== null) return err;
  return new CliError(
    err.code,
    err.message,
    { ...err.details, hint: 'a provider needs a default model: `gastown config set models.default <model>` first' },
    { cause: err },
  );
}

/** `config set|unset <town key>`: read the town's config, send the one change, show the result. */
export async function setTownKey(ctx: CommandContext, key: TownKey, raw: string, value: string): Promise<number> {
  if (ctx.args.values.global === true) throw new CliError('usage', `--global is for the CLI's own settings; ${raw} is stored by the server for the town`);
  const { client, townId } = await ctx.townClient();
  const town = await client.getTown(townId);
  const patch = townConfigPatch(key, raw, value, town.config);
  let updated: Town;
  try {
    updated = await client.updateTownConfig(townId, patch);
  } catch (err) {
    throw withModelHint(err, patch, town);
  }
  if (ctx.json) {
    ctx.out.json({ townId, key: raw, value, config: updated.config });
    return 0;
  }
  ctx.out.line(`${raw} = ${value} (town ${updated.name})`);
  ctx.out.line(townConfigLines(updated).slice(1).join('\n'));
  return 0;
}

export async function readValue(ctx: CommandContext, raw: string): Promise<string> {
  const value = raw === '-' ? (await ctx.sys.readStdin()).trim() : raw.trim();
  if (value === '') throw new CliError('usage', 'the value is empty');
  return value;
}

async function set(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, SET, async (ctx) => {
    const [rawKey = '', rawValue = ''] = ctx.args.positionals;
    const townKey = parseTownKey(rawKey);
    if (townKey) return setTownKey(ctx, townKey, rawKey, await readValue(ctx, rawValue));
    const key = parseKey(rawKey);
    let value = await readValue(ctx, rawValue);
    if (key === 'url') value = normaliseUrl(value, 'the value');
    const path = targetPath(ctx);
    const current: CliConfigFile = readConfigFile(path);
    writeConfigFile(path, { ...current, [KEYS[key]]: value });
    const shown = key === 'token' || key === 'admin-secret' ? maskSecret(value) : value;
    if (ctx.json) ctx.out.json({ path, key, value: shown });
    else ctx.out.line(`${key} = ${shown} (in ${path})`);
    return 0;
  });
}

async function unset(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, UNSET, async (ctx) => {
    const rawKey = ctx.args.positionals[0] ?? '';
    const townKey = parseTownKey(rawKey);
    if (townKey) return setTownKey(ctx, townKey, rawKey, unsetValue(townKey, rawKey));
    const key = parseKey(rawKey);
    const path = targetPath(ctx);
    const { [KEYS[key]]: _removed, ...rest } = readConfigFile(path);
    writeConfigFile(path, rest);
    if (ctx.json) ctx.out.json({ path, key, removed: _removed !== undefined });
    else ctx.out.line(`${key} removed (from ${path})`);
    return 0;
  });
}

export const configCommand: Command = {
  name: 'config',
  summary: "show and change the CLI settings and the town's model settings",
  run: (sys, argv) =>
    runGroup(sys, argv, 'config', [
      { name: 'show', summary: "where each setting comes from, and the town's model settings", run: show },
      { name: 'set', summary: 'store a CLI setting, or change a town setting (provider, models, spend cap, prices)', run: set },
      { name: 'unset', summary: 'remove a CLI setting, or return a town setting to its default', run: unset },
    ]),
};
