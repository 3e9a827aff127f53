/**
 * `gastown town config [show|set|unset]`: the town's own settings (model provider, models per
 * role, spend cap, prices, env var names) — the same town keys `gastown config set|unset` takes,
 * under the name a newcomer looks for. The work is in config.ts (setTownKey) and
 * ../town-config/town-config-keys.ts.
 */
import { TOWN_HELP } from '../args';
import type { CliEnvironment } from '../context';
import { CliError } from '../errors';
import { parseTownKey, TOWN_KEYS_HELP, unsetValue } from '../town-config/town-config-keys';
import { resolveTownId } from '../town-resolution';
import { townConfigLines } from '../views/town-config-view';
import { lacksModelProvider, noProviderHint, noProviderMessage } from '../views/no-provider';
import { readValue, setTownKey } from './config';
import { runGroup, runWith, type Subcommand } from './command';

const SHOW = {
  usage: `usage: gastown town config [show] [--town <id|name>]

The town's settings: model provider, the model of each role, spend cap, price overrides and the
names of its env vars (values are write-only). Change them with \`gastown town config set\`
(or \`gastown config set\`, the same keys), env vars with \`gastown env set\`.

Options:
${TOWN_HELP}`,
  options: { town: { type: 'string' } },
} as const;

const SET = {
  usage: `usage: gastown town config set <key> <value> [--town <id|name>]

${TOWN_KEYS_HELP}

A provider's key is not a setting: put it in a town env var (\`gastown env set NAME\`, from stdin).

Examples:
  gastown town config set models.default claude-sonnet-4-5
  gastown town config set provider.kind anthropic
  printf %s "$ANTHROPIC_API_KEY" | gastown env set ANTHROPIC_API_KEY`,
  options: { town: { type: 'string' } },
  positionals: { names: ['key', 'value'], min: 2, max: 2 },
} as const;

const UNSET = {
  usage: `usage: gastown town config unset <key> [--town <id|name>]

Return a town setting to its default (see \`gastown town config set --help\` for the keys).`,
  options: { town: { type: 'string' } },
  positionals: { names: ['key'], min: 1, max: 1 },
} as const;

function townKeyOrUsage(raw: string, usage: string) {
  const key = parseTownKey(raw);
  if (key) return key;
  throw new CliError('usage', `unknown town setting ${JSON.stringify(raw)}`, {
    usage,
    hint: "the CLI's own settings (url, token, town, admin-secret) are set with `gastown config set`; env vars with `gastown env set NAME`",
  });
}

async function show(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, SHOW, async (ctx) => {
    const client = ctx.client();
    const town = await client.getTown(await resolveTownId(client, ctx.settings().town));
    if (ctx.json) {
      ctx.out.json({ town: { id: town.id, name: town.name, config: town.config } });
      return 0;
    }
    const names = [...town.config.envVarNames].sort();
    ctx.out.line([...townConfigLines(town), `${'env vars'.padEnd(13)} ${names.length > 0 ? names.join(', ') : 'none'}`].join('\n'));
    if (lacksModelProvider(town)) {
      ctx.out.note(noProviderMessage(town), 'yellow');
      ctx.out.note(noProviderHint(town));
    }
    return 0;
  });
}

async function set(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, SET, async (ctx) => {
    const [rawKey = '', rawValue = ''] = ctx.args.positionals;
    const key = townKeyOrUsage(rawKey, SET.usage);
    return setTownKey(ctx, key, rawKey, await readValue(ctx, rawValue));
  });
}

async function unset(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, UNSET, async (ctx) => {
    const rawKey = ctx.args.positionals[0] ?? '';
    const key = townKeyOrUsage(rawKey, UNSET.usage);
    return setTownKey(ctx, key, rawKey, unsetValue(key, rawKey));
  });
}

/** `gastown town config …`; with no subcommand (or only options), `show`. */
export const townConfigCommand: Subcommand = {
  name: 'config',
  summary: "show or change the town's settings (provider, models, spend cap, prices)",
  run: (sys, argv) => {
    if (argv.length === 0 || argv[0]!.startsWith('-')) return show(sys, argv);
    return runGroup(sys, argv, 'town config', [
      { name: 'show', summary: "the town's settings", run: show },
      { name: 'set', summary: 'change one', run: set },
      { name: 'unset', summary: 'return one to its default', run: unset },
    ]);
  },
};
