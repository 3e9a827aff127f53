/**
 * `gastown env list|set|unset`: the town's env vars (what its agents' provider keys are read
 * from). Values are write-only: `set NAME` reads the value from stdin — never from the command
 * line, where `ps` and shell history would see it — and nothing ever prints it; only names come
 * back from the server.
 */
import { EnvVarNameSchema, LIMITS, type Town } from '@gastown/protocol';
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment, CommandContext } from '../context';
import { CliError } from '../errors';
import { resolveTownId } from '../town-resolution';
import { runGroup, runWith, type Command } from './command';

const LIST = {
  usage: `usage: gastown env list [--town <id|name>]

The names of the town's env vars (values are write-only: never shown).

Options:
${TOWN_HELP}`,
  options: TOWN_OPTION,
};

const SET = {
  usage: `usage: gastown env set <NAME> [--town <id|name>]  < value

Set a town env var; its value is read from stdin (one trailing newline is dropped), never from
the command line. Agents started from now on see it; running ones at the container's next start.
A provider's key goes here, under the name its provider.apiKeyEnvVar gives.

Options:
${TOWN_HELP}

Examples:
  printf %s "$ANTHROPIC_API_KEY" | gastown env set ANTHROPIC_API_KEY
  gastown env set OPENROUTER_API_KEY < ~/.secrets/openrouter`,
  options: TOWN_OPTION,
  // a second word is refused below without being echoed (it is most likely the value)
  positionals: { names: ['NAME'], min: 1, max: 64 },
};

const UNSET = {
  usage: `usage: gastown env unset <NAME> [--town <id|name>]

Delete a town env var.

Options:
${TOWN_HELP}`,
  options: TOWN_OPTION,
  positionals: { names: ['NAME'], min: 1, max: 1 },
};

function envName(raw: string, usage: string): string {
  if (!EnvVarNameSchema.safeParse(raw).success) {
    throw new CliError(
      'usage',
      `${JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw)} is not an env var name (letters, digits and _, not starting with a digit)`,
      { usage },
    );
  }
  return raw;
}

/** The value from stdin: one trailing newline (`echo`'s) dropped, nothing else touched. */
export function envValueFromStdin(text: string): string {
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new CliError('usage', 'no value on stdin', { hint: 'pipe it in: printf %s "$VALUE" | gastown env set NAME' });
  if (value.length > LIMITS.maxEnvValueChars) throw new CliError('usage', `the value is longer than ${LIMITS.maxEnvValueChars} characters`);
  return value;
}

function townIdOf(ctx: CommandContext): Promise<string> {
  return resolveTownId(ctx.client(), ctx.settings().town);
}

function printNames(ctx: CommandContext, town: Town): void {
  const names = [...town.config.envVarNames].sort();
  if (names.length === 0) ctx.out.note(`town ${town.name} has no env vars`);
  else ctx.out.line(names.join('\n'));
}

async function list(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, LIST, async (ctx) => {
    const townId = await townIdOf(ctx);
    const town = await ctx.client().getTown(townId);
    if (ctx.json) ctx.out.json({ townId, names: [...town.config.envVarNames].sort() });
    else printNames(ctx, town);
    return 0;
  });
}

async function set(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, SET, async (ctx) => {
    if (ctx.args.positionals.length > 1) {
      throw new CliError(
        'usage',
        'the value is read from stdin, never from the command line (visible in `ps` and your shell history); the extra argument is not shown',
        { usage: SET.usage },
      );
    }
    const name = envName(ctx.args.positionals[0] ?? '', SET.usage);
    const value = envValueFromStdin(await ctx.sys.readStdin());
    const townId = await townIdOf(ctx);
    const town = await ctx.client().updateTownConfig(townId, { envVars: { [name]: value } });
    if (ctx.json) ctx.out.json({ townId, name, set: true, names: [...town.config.envVarNames].sort() });
    else ctx.out.line(`${name} set for town ${town.name} (value not shown)`);
    return 0;
  });
}

async function unset(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, UNSET, async (ctx) => {
    const name = envName(ctx.args.positionals[0] ?? '', UNSET.usage);
    const townId = await townIdOf(ctx);
    const before = await ctx.client().getTown(townId);
    const existed = before.config.envVarNames.includes(name);
    const town = existed ? await ctx.client().updateTownConfig(townId, { envVars: { [name]: null } }) : before;
    if (ctx.json) ctx.out.json({ townId, name, removed: existed, names: [...town.config.envVarNames].sort() });
    else ctx.out.line(existed ? `${name} removed from town ${town.name}` : `town ${town.name} has no env var ${name}`);
    return 0;
  });
}

export const envCommand: Command = {
  name: 'env',
  summary: "the town's env vars (provider keys): list names, set from stdin, unset",
  run: (sys, argv) =>
    runGroup(sys, argv, 'env', [
      { name: 'list', summary: "the names of the town's env vars", run: list },
      { name: 'set', summary: 'set one; the value from stdin', run: set },
      { name: 'unset', summary: 'delete one', run: unset },
    ]),
};
