/** `gastown config show`, `gastown config set <key> <value>`, `gastown config unset <key>`. */
import { normaliseUrl, type Setting } from '../config/settings';
import { readConfigFile, userConfigPath, writeConfigFile, type CliConfigFile } from '../config/config-file';
import type { CliEnvironment, CommandContext } from '../context';
import { CliError } from '../errors';
import { maskSecret } from '../output/redact';
import { runGroup, runWith, type Command } from './command';

/** Settable keys → config-file fields. */
const KEYS = { url: 'url', token: 'token', town: 'town', 'admin-secret': 'adminSecret' } as const;
type Key = keyof typeof KEYS;
const KEY_LIST = Object.keys(KEYS).join(', ');

const SHOW = {
  usage: `usage: gastown config show

Where each setting comes from (flag, environment, config file, default). Secrets are masked:
only a fingerprint (first 8 hex of their SHA-256) is shown.`,
  options: { town: { type: 'string' }, 'admin-secret': { type: 'string' } },
} as const;

const SET = {
  usage: `usage: gastown config set <key> <value> [--global]

Store a setting in the config file: the project's .gastown/cli.json when there is one (in this or
a parent directory), else ~/.config/gastown/cli.json. Keys: ${KEY_LIST}.
A value of - is read from stdin (keeps a token out of your shell history).

Options:
  --global   write ~/.config/gastown/cli.json even inside a project

Examples:
  gastown config set url http://127.0.0.1:8787
  gastown config set town town_8f3k2a9d
  pbpaste | gastown config set token -`,
  options: { global: { type: 'boolean' } },
  positionals: { names: ['key', 'value'], min: 2, max: 2 },
} as const;

const UNSET = {
  usage: `usage: gastown config unset <key> [--global]

Remove a setting from the config file. Keys: ${KEY_LIST}.`,
  options: { global: { type: 'boolean' } },
  positionals: { names: ['key'], min: 1, max: 1 },
} as const;

function parseKey(raw: string): Key {
  if (raw in KEYS) return raw as Key;
  if (raw === 'adminSecret') return 'admin-secret';
  throw new CliError('usage', `unknown key ${JSON.stringify(raw)}: use one of ${KEY_LIST}`);
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
    const view = {
      configFile: { path: location.path, kind: location.kind, exists: location.exists },
      url: describe(s.url, false),
      token: describe(s.token, true),
      town: describe(s.town, false),
      adminSecret: describe(s.adminSecret, true),
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
    return 0;
  });
}

async function readValue(ctx: CommandContext, raw: string): Promise<string> {
  const value = raw === '-' ? (await ctx.sys.readStdin()).trim() : raw.trim();
  if (value === '') throw new CliError('usage', 'the value is empty');
  return value;
}

async function set(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, SET, async (ctx) => {
    const [rawKey = '', rawValue = ''] = ctx.args.positionals;
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
    const key = parseKey(ctx.args.positionals[0] ?? '');
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
  summary: 'show and change the CLI settings',
  run: (sys, argv) =>
    runGroup(sys, argv, 'config', [
      { name: 'show', summary: 'where each setting comes from', run: show },
      { name: 'set', summary: 'store a setting', run: set },
      { name: 'unset', summary: 'remove a setting', run: unset },
    ]),
};
