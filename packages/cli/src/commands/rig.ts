/** `gastown rig add <name> <gitUrl> [--branch main]` and `gastown rig list`. */
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment } from '../context';
import { redactUrlCredentials } from '../output/redact';
import { renderTable } from '../output/table';
import { formatTimestamp } from '../output/time';
import { resolveTownId } from '../town-resolution';
import { runGroup, runWith, type Command } from './command';

const ADD = {
  usage: `usage: gastown rig add <name> <gitUrl> [--branch <branch>] [--town <id|name>]

Add a git repository to the town. <gitUrl>: https://, ssh://, git@host:path, file:///abs/path
or an absolute path.

Options:
  --branch <branch>  default branch (default: main)
${TOWN_HELP}

Example:
  gastown rig add web https://github.com/acme/web.git --branch trunk`,
  options: { ...TOWN_OPTION, branch: { type: 'string' } },
  positionals: { names: ['name', 'gitUrl'], min: 2, max: 2 },
} as const;

const LIST = {
  usage: `usage: gastown rig list [--town <id|name>]

List the town's rigs.

Options:
${TOWN_HELP}`,
  options: TOWN_OPTION,
};

async function add(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, ADD, async (ctx) => {
    const client = ctx.client();
    const townId = await resolveTownId(client, ctx.settings().town);
    const [name = '', gitUrl = ''] = ctx.args.positionals;
    const branch = ctx.option('branch');
    const rig = await client.addRig(townId, branch === undefined ? { name, gitUrl } : { name, gitUrl, defaultBranch: branch });
    if (ctx.json) ctx.out.json({ rig });
    else ctx.out.line(`added rig ${rig.name} (${rig.id}): ${redactUrlCredentials(rig.gitUrl)} on ${rig.defaultBranch}`);
    return 0;
  });
}

async function list(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, LIST, async (ctx) => {
    const client = ctx.client();
    const rigs = await client.listRigs(await resolveTownId(client, ctx.settings().town));
    if (ctx.json) {
      ctx.out.json({ rigs });
      return 0;
    }
    if (rigs.length === 0) {
      ctx.out.note('no rigs yet: add one with `gastown rig add <name> <gitUrl>`');
      return 0;
    }
    const rows = rigs.map((r) => [r.id, r.name, r.defaultBranch, redactUrlCredentials(r.gitUrl), formatTimestamp(r.createdAt)]);
    ctx.out.line(renderTable([{ header: 'ID' }, { header: 'NAME' }, { header: 'BRANCH' }, { header: 'GIT URL' }, { header: 'CREATED' }], rows, ctx.out.colour));
    return 0;
  });
}

export const rigCommand: Command = {
  name: 'rig',
  summary: "add and list a town's git repositories",
  run: (sys, argv) =>
    runGroup(sys, argv, 'rig', [
      { name: 'add', summary: 'add a rig (a git repository)', run: add },
      { name: 'list', summary: "list the town's rigs", run: list },
    ]),
};
