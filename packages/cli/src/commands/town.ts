/** `gastown town create <name>` and `gastown town list` (`gastown town restart`: town-restart.ts; `gastown town config`: town-config.ts). */
import type { Town } from '@gastown/protocol';
import { TOWN_OPTION } from '../args';
import type { CliEnvironment } from '../context';
import { renderTable } from '../output/table';
import { formatTimestamp } from '../output/time';
import { runGroup, runWith, type Command } from './command';
import { townConfigCommand } from './town-config';
import { townRestartCommand } from './town-restart';
import { townDeleteCommand } from './town-delete';

const CREATE = {
  usage: `usage: gastown town create <name>

Create a town (with its mayor). Names are lower-case letters, digits and dashes.

Example:
  gastown town create my-town`,
  positionals: { names: ['name'], min: 1, max: 1 },
};

const LIST = {
  usage: `usage: gastown town list [--town <id|name>]

List your towns; the current one (--town, $GASTOWN_TOWN or the config file) is starred.`,
  options: TOWN_OPTION,
};

/** The town's default model (a town stored before per-role models may still name it in its provider). */
function providerLabel(town: Town): string {
  return town.config.models?.default ?? town.config.provider?.model ?? '-';
}

async function create(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, CREATE, async (ctx) => {
    const town = await ctx.client().createTown(ctx.args.positionals[0] ?? '');
    if (ctx.json) ctx.out.json({ town });
    else ctx.out.line(`created town ${town.name} (${town.id})`);
    return 0;
  });
}

async function list(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, LIST, async (ctx) => {
    const towns = await ctx.client().listTowns();
    if (ctx.json) {
      ctx.out.json({ towns });
      return 0;
    }
    if (towns.length === 0) {
      ctx.out.note('no towns yet: create one with `gastown town create <name>`');
      return 0;
    }
    const current = ctx.settings().town.value;
    const rows = towns.map((t) => [
      t.id === current || t.name === current ? '*' : '',
      t.id,
      t.name,
      t.config.runtime,
      providerLabel(t),
      formatTimestamp(t.createdAt),
    ]);
    ctx.out.line(
      renderTable(
        [{ header: '' }, { header: 'ID' }, { header: 'NAME' }, { header: 'RUNTIME' }, { header: 'MODEL' }, { header: 'CREATED' }],
        rows,
        ctx.out.colour,
      ),
    );
    return 0;
  });
}

export const townCommand: Command = {
  name: 'town',
  summary: 'create and list towns',
  run: (sys, argv) =>
    runGroup(sys, argv, 'town', [
      { name: 'create', summary: 'create a town', run: create },
      { name: 'list', summary: 'list your towns', run: list },
      townRestartCommand,
      townDeleteCommand,
      townConfigCommand,
    ]),
};
