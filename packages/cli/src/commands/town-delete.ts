/** `gastown town delete --yes`: delete a town and everything of it. */
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment } from '../context';
import { CliError } from '../errors';
import { runWith, type Subcommand } from './command';

const DELETE = {
  usage: `usage: gastown town delete [--town <id|name>] --yes [--json]

Delete a town for good: its container is killed (working agents are not drained: their
unpushed work is lost), every agent credential is revoked, and every row, event and saved
mayor conversation is deleted. Its id answers "not found" afterwards and the name is free
again. There is no undo: --yes is required.

Options:
${TOWN_HELP}
  --yes              confirm the deletion

Examples:
  gastown town delete --town my-town --yes
  gastown town delete --town my-town --yes --json`,
  options: { ...TOWN_OPTION, yes: { type: 'boolean' } },
} as const;

async function remove(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, DELETE, async (ctx) => {
    if (ctx.args.values.yes !== true) throw new CliError('usage', 'deleting a town cannot be undone: add --yes to confirm', { usage: DELETE.usage });
    const { client, townId } = await ctx.townClient();
    const result = await client.deleteTown(townId);
    if (ctx.json) ctx.out.json(result);
    else
      ctx.out.line(
        `deleted town ${townId}${result.containerWasRunning ? ' (its container was stopped)' : ''}; ${result.sessionObjectsRemoved} saved session(s) removed`,
      );
    return 0;
  });
}

export const townDeleteCommand: Subcommand = {
  name: 'delete',
  summary: 'delete a town and everything of it (--yes)',
  run: remove,
};
