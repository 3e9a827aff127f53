/**
 * `gastown convoy create|list|show|add|delete`: convoys, named groups of issue beads with one goal.
 * A convoy lands (town event `convoy.landed`) once every one of its beads is closed. Every
 * subcommand prints JSON under --json.
 */
import type { Convoy } from '@gastown/protocol';
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CommandContext } from '../context';
import { CliError } from '../errors';
import { renderTable } from '../output/table';
import { formatAge } from '../output/time';
import { beadLine, parseList } from './bead';
import { runGroup, runWith, type Command, type Subcommand } from './command';

const EXIT_CODES_HELP = `Exit codes: 0 done; 2 bad arguments or a refused value (400: a bead that is not an issue of this town…);
4 no or a rejected token; 5 the town or convoy does not exist; 6 the convoy's state does not allow it
(409: adding beads to a landed or cancelled convoy); 1 any other failure; 3 unreachable.`;

const CREATE = {
  usage: `usage: gastown convoy create <name> --beads <bd_1,bd_2,…> [--goal <text>] [--town <id|name>]

Group existing issue beads of the town in a convoy with one goal. Its progress is how many of its
beads are closed; it lands once all of them are (town event convoy.landed).

Options:
  --beads <ids>    the beads, comma-separated (required; at most 100)
  --goal <text>    what the convoy achieves
${TOWN_HELP}

${EXIT_CODES_HELP}

Example:
  gastown convoy create "Dark mode" --beads bd_1a2b3c4d,bd_5e6f7g8h --goal "The whole app in dark mode"`,
  options: { ...TOWN_OPTION, beads: { type: 'string' }, goal: { type: 'string' } },
  positionals: { names: ['name'], min: 1, max: 1 },
} as const;

const LIST = {
  usage: `usage: gastown convoy list [--status <s>] [--limit <n>] [--cursor <c>] [--town <id|name>]

One page of the town's convoys, oldest first, with their progress. When more follow, the next
page's --cursor is printed (and is "nextCursor" under --json).

Options:
  --status <s>     open, landed or cancelled
  --limit <n>      convoys per page, 1–500 (default 100)
  --cursor <c>     the page after the one that printed it
${TOWN_HELP}

${EXIT_CODES_HELP}`,
  options: { ...TOWN_OPTION, status: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
} as const;

const SHOW = {
  usage: `usage: gastown convoy show <convoy> [--town <id|name>]

A convoy with its goal, progress and each of its beads.

Options:
${TOWN_HELP}

${EXIT_CODES_HELP}`,
  options: TOWN_OPTION,
  positionals: { names: ['convoy'], min: 1, max: 1 },
} as const;

const ADD = {
  usage: `usage: gastown convoy add <convoy> <bead> [<bead>…] [--town <id|name>]

Add issue beads to an open convoy.

Options:
${TOWN_HELP}

${EXIT_CODES_HELP}

Example:
  gastown convoy add cv_1a2b3c4d bd_9i8j7k6l`,
  options: TOWN_OPTION,
  positionals: { names: ['convoy', 'bead'], min: 2, max: 101 },
} as const;

const DELETE = {
  usage: `usage: gastown convoy delete <convoy> [--town <id|name>]

Delete a convoy. Its beads stay as they are.

Options:
${TOWN_HELP}

${EXIT_CODES_HELP}`,
  options: TOWN_OPTION,
  positionals: { names: ['convoy'], min: 1, max: 1 },
} as const;

/** One line about a convoy: id, status, progress, name. */
export function convoyLine(convoy: Convoy): string {
  return `${convoy.id} ${convoy.status} (${convoy.progress.closed}/${convoy.progress.total} closed): ${convoy.name}`;
}

function parseLimit(raw: string, usage: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 500)
    throw new CliError('usage', `--limit must be a whole number from 1 to 500, got ${JSON.stringify(raw)}`, { usage });
  return n;
}

function printConvoy(ctx: CommandContext, verb: string, convoy: Convoy): number {
  if (ctx.json) ctx.out.json({ convoy });
  else ctx.out.line(`${verb} ${convoyLine(convoy)}`);
  return 0;
}

const SUBCOMMANDS: readonly Subcommand[] = [
  {
    name: 'create',
    summary: 'group issue beads in a new convoy',
    run: (sys, argv) =>
      runWith(sys, argv, CREATE, async (ctx) => {
        const [name = ''] = ctx.args.positionals;
        const beads = ctx.option('beads');
        const beadIds = beads === undefined ? [] : parseList(beads);
        if (beadIds.length === 0) throw new CliError('usage', 'missing --beads <bd_1,bd_2,…>', { usage: CREATE.usage });
        const { client, townId } = await ctx.townClient();
        const goal = ctx.option('goal');
        const convoy = await client.createConvoy(townId, { name, beadIds, ...(goal !== undefined ? { goal } : {}) });
        return printConvoy(ctx, 'created', convoy);
      }),
  },
  {
    name: 'list',
    summary: 'one page of convoys with their progress',
    run: (sys, argv) =>
      runWith(sys, argv, LIST, async (ctx) => {
        const { client, townId } = await ctx.townClient();
        const status = ctx.option('status');
        const limit = ctx.option('limit');
        const cursor = ctx.option('cursor');
        const page = await client.listConvoyPage(townId, {
          ...(status !== undefined ? { status } : {}),
          ...(limit !== undefined ? { limit: parseLimit(limit, LIST.usage) } : {}),
          ...(cursor !== undefined ? { cursor } : {}),
        });
        if (ctx.json) {
          ctx.out.json(page);
          return 0;
        }
        if (page.convoys.length === 0) ctx.out.note('no convoys');
        else {
          const rows = page.convoys.map((c) => [
            c.id,
            { text: c.status, colour: c.status === 'landed' ? ('green' as const) : null },
            `${c.progress.closed}/${c.progress.total}`,
            formatAge(c.updatedAt, ctx.now),
            c.name.length > 50 ? `${c.name.slice(0, 49)}…` : c.name,
          ]);
          const columns = ['ID', 'STATUS', 'CLOSED', 'UPDATED', 'NAME'].map((header) => ({ header }));
          ctx.out.line(renderTable(columns, rows, ctx.out.colour));
        }
        if (page.nextCursor !== null) ctx.out.note(`more: gastown convoy list --cursor ${page.nextCursor}`);
        return 0;
      }),
  },
  {
    name: 'show',
    summary: 'a convoy with its goal, progress and beads',
    run: (sys, argv) =>
      runWith(sys, argv, SHOW, async (ctx) => {
        const [convoyId = ''] = ctx.args.positionals;
        const { client, townId } = await ctx.townClient();
        const detail = await client.getConvoy(townId, convoyId);
        if (ctx.json) {
          ctx.out.json(detail);
          return 0;
        }
        ctx.out.line(convoyLine(detail.convoy));
        if (detail.convoy.goal !== '') ctx.out.line(`goal: ${detail.convoy.goal}`);
        for (const bead of detail.beads) ctx.out.line(`  ${beadLine(bead)}`);
        return 0;
      }),
  },
  {
    name: 'add',
    summary: 'add beads to an open convoy',
    run: (sys, argv) =>
      runWith(sys, argv, ADD, async (ctx) => {
        const [convoyId = '', ...beadIds] = ctx.args.positionals;
        const { client, townId } = await ctx.townClient();
        return printConvoy(ctx, 'updated', await client.updateConvoy(townId, convoyId, { addBeadIds: beadIds }));
      }),
  },
  {
    name: 'delete',
    summary: 'delete a convoy (its beads stay)',
    run: (sys, argv) =>
      runWith(sys, argv, DELETE, async (ctx) => {
        const [convoyId = ''] = ctx.args.positionals;
        const { client, townId } = await ctx.townClient();
        const result = await client.deleteConvoy(townId, convoyId);
        if (ctx.json) ctx.out.json(result);
        else ctx.out.line(`deleted convoy ${result.convoyId}`);
        return 0;
      }),
  },
];

export const convoyCommand: Command = {
  name: 'convoy',
  summary: 'create, list, show, add to and delete convoys (groups of beads with one goal)',
  run: (sys, argv) => runGroup(sys, argv, 'convoy', SUBCOMMANDS),
};
