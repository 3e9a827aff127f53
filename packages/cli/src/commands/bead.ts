/**
 * `gastown bead create|edit|close|reopen|delete|list`: the issue beads a user manages — priority,
 * labels and dependencies (a bead is dispatched only once every bead it depends on is closed).
 * Every subcommand prints the bead (or the page) as JSON under --json.
 */
import { BEAD_LIMITS, type Bead, type UpdateBeadRequest } from '@gastown/protocol';
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { ApiClient, BeadPageQuery } from '../client/api-client';
import type { CommandContext } from '../context';
import { CliError } from '../errors';
import { renderTable } from '../output/table';
import { formatAge } from '../output/time';
import { runGroup, runWith, type Command, type Subcommand } from './command';

const EXIT_CODES_HELP = `Exit codes: 0 done; 2 bad arguments or a refused value (400: a bad label, a dependency cycle…);
4 no or a rejected token; 5 the town, bead or rig does not exist; 6 the bead's state does not allow it
(409: reopen an open bead, delete a bead another depends on…); 1 any other failure; 3 unreachable.`;

const FIELD_OPTIONS = {
  body: { type: 'string' },
  priority: { type: 'string' },
  labels: { type: 'string' },
  'depends-on': { type: 'string' },
  rig: { type: 'string' },
} as const;

const FIELD_HELP = `  --body <text>            the description
  --priority <0-4>         0 most urgent … 4 backlog (default 2); open beads start most urgent first
  --labels <a,b>           labels, comma-separated (lower-case letters, digits, . _ : -)
  --depends-on <bd_1,bd_2> beads it waits for: it is dispatched once all of them are closed`;

const CREATE = {
  usage: `usage: gastown bead create <title> --rig <rig> [--body <text>] [--priority <0-4>] [--labels <a,b>] [--depends-on <ids>] [--town <id|name>]

Create an open issue bead on a rig (<rig>: its id or name). A polecat takes it up once a slot is
free and every bead it depends on is closed.

Options:
  --rig <rig>              the rig (required)
${FIELD_HELP}
${TOWN_HELP}

${EXIT_CODES_HELP}

Example:
  gastown bead create "Add a --verbose flag" --rig web --priority 1 --labels cli --depends-on bd_1a2b3c4d`,
  options: { ...TOWN_OPTION, ...FIELD_OPTIONS },
  positionals: { names: ['title'], min: 1, max: 1 },
} as const;

const EDIT = {
  usage: `usage: gastown bead edit <bead> [--title <t>] [--body <text>] [--priority <0-4>] [--labels <a,b>] [--depends-on <ids>] [--rig <rig>] [--town <id|name>]

Change an issue bead: only what you give changes. --labels and --depends-on replace the whole list
(give "" to empty it). --rig moves an open, unassigned bead. A dependency cycle is refused.

Options:
  --title <t>              the title
${FIELD_HELP}
  --rig <rig>              another rig (id or name)
${TOWN_HELP}

${EXIT_CODES_HELP}

Example:
  gastown bead edit bd_1a2b3c4d --priority 0 --depends-on ""`,
  options: { ...TOWN_OPTION, ...FIELD_OPTIONS, title: { type: 'string' } },
  positionals: { names: ['bead'], min: 1, max: 1 },
} as const;

const CLOSE = {
  usage: `usage: gastown bead close <bead> [--reason <text>] [--town <id|name>]

Close an issue bead: open or failed, or in progress (its polecat is stopped first). A bead in review
is decided by its merge request. Closing a bead lets the beads that depend on it go.

Options:
  --reason <text>  why (kept on the bead)
${TOWN_HELP}

${EXIT_CODES_HELP}`,
  options: { ...TOWN_OPTION, reason: { type: 'string' } },
  positionals: { names: ['bead'], min: 1, max: 1 },
} as const;

const REOPEN = {
  usage: `usage: gastown bead reopen <bead> [--town <id|name>]

Reopen a closed or failed issue bead, with fresh attempts.

Options:
${TOWN_HELP}

${EXIT_CODES_HELP}`,
  options: TOWN_OPTION,
  positionals: { names: ['bead'], min: 1, max: 1 },
} as const;

const DELETE = {
  usage: `usage: gastown bead delete <bead> [--town <id|name>]

Delete an issue bead for good. Not one in progress or in review (close it first), nor one another
bead depends on (edit that bead's --depends-on first).

Options:
${TOWN_HELP}

${EXIT_CODES_HELP}`,
  options: TOWN_OPTION,
  positionals: { names: ['bead'], min: 1, max: 1 },
} as const;

const LIST = {
  usage: `usage: gastown bead list [--status <s>] [--rig <rig>] [--label <l>] [--assignee <agent>] [--limit <n>] [--cursor <c>] [--town <id|name>]

One page of the town's beads, oldest first, with their priority, labels and dependencies. Every
filter given must match. When more follow, the next page's --cursor is printed (and is
"nextCursor" under --json).

Options:
  --status <s>       open, in_progress, in_review, closed or failed
  --rig <rig>        the rig (id or name)
  --label <l>        beads with this label
  --assignee <agent> beads held by this agent id
  --limit <n>        beads per page, 1–500 (default 100)
  --cursor <c>       the page after the one that printed it
${TOWN_HELP}

${EXIT_CODES_HELP}`,
  options: {
    ...TOWN_OPTION,
    status: { type: 'string' },
    rig: { type: 'string' },
    label: { type: 'string' },
    assignee: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  },
} as const;

/** `--labels a,b` → ['a', 'b']; "" → [] (an empty list). */
export function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function parsePriority(raw: string, usage: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < BEAD_LIMITS.minPriority || n > BEAD_LIMITS.maxPriority) {
    throw new CliError('usage', `--priority must be a whole number from ${BEAD_LIMITS.minPriority} to ${BEAD_LIMITS.maxPriority}, got ${JSON.stringify(raw)}`, {
      usage,
    });
  }
  return n;
}

function parseLimit(raw: string, usage: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 500)
    throw new CliError('usage', `--limit must be a whole number from 1 to 500, got ${JSON.stringify(raw)}`, { usage });
  return n;
}

/** A rig's id from its id or name (404 → exit 5). */
async function rigIdOf(client: ApiClient, townId: string, ref: string): Promise<string> {
  const rigs = await client.listRigs(townId);
  const rig = rigs.find((r) => r.id === ref) ?? rigs.find((r) => r.name === ref);
  if (!rig) throw new CliError('not_found', `rig ${ref} not found in town ${townId} (see \`gastown rig list\`)`);
  return rig.id;
}

/** The fields shared by create and edit, from the flags. */
async function fieldsFromFlags(ctx: CommandContext, client: ApiClient, townId: string, usage: string): Promise<UpdateBeadRequest> {
  const fields: UpdateBeadRequest = {};
  const body = ctx.option('body');
  const priority = ctx.option('priority');
  const labels = ctx.option('labels');
  const dependsOn = ctx.option('depends-on');
  const rig = ctx.option('rig');
  const title = ctx.option('title');
  if (title !== undefined) fields.title = title;
  if (body !== undefined) fields.body = body;
  if (priority !== undefined) fields.priority = parsePriority(priority, usage);
  if (labels !== undefined) fields.labels = parseList(labels);
  if (dependsOn !== undefined) fields.dependsOn = parseList(dependsOn);
  if (rig !== undefined) fields.rigId = await rigIdOf(client, townId, rig);
  return fields;
}

/** One line about a bead: id, status, priority, labels, dependencies, title. */
export function beadLine(bead: Bead): string {
  const extras = [`P${bead.priority}`, ...(bead.labels.length > 0 ? [`labels ${bead.labels.join(',')}`] : [])];
  if (bead.dependsOn.length > 0) extras.push(`waits on ${bead.dependsOn.join(',')}`);
  return `${bead.id} ${bead.status} (${extras.join('; ')}): ${bead.title}`;
}

function printBead(ctx: CommandContext, verb: string, bead: Bead): number {
  if (ctx.json) ctx.out.json({ bead });
  else ctx.out.line(`${verb} ${beadLine(bead)}`);
  return 0;
}

const SUBCOMMANDS: readonly Subcommand[] = [
  {
    name: 'create',
    summary: 'a new issue bead on a rig',
    run: (sys, argv) =>
      runWith(sys, argv, CREATE, async (ctx) => {
        const [title = ''] = ctx.args.positionals;
        if (ctx.option('rig') === undefined) throw new CliError('usage', 'missing --rig <rig>', { usage: CREATE.usage });
        const { client, townId } = await ctx.townClient();
        const { rigId, ...fields } = await fieldsFromFlags(ctx, client, townId, CREATE.usage);
        const bead = await client.createBead(townId, { ...fields, rigId: rigId!, title });
        return printBead(ctx, 'created', bead);
      }),
  },
  {
    name: 'edit',
    summary: "change a bead's title, body, priority, labels, dependencies or rig",
    run: (sys, argv) =>
      runWith(sys, argv, EDIT, async (ctx) => {
        const [beadId = ''] = ctx.args.positionals;
        const { client, townId } = await ctx.townClient();
        const patch = await fieldsFromFlags(ctx, client, townId, EDIT.usage);
        if (Object.keys(patch).length === 0) {
          throw new CliError('usage', 'nothing to change: give --title, --body, --priority, --labels, --depends-on or --rig', { usage: EDIT.usage });
        }
        return printBead(ctx, 'updated', await client.updateBead(townId, beadId, patch));
      }),
  },
  {
    name: 'close',
    summary: 'close a bead (its polecat is stopped if it works on it)',
    run: (sys, argv) =>
      runWith(sys, argv, CLOSE, async (ctx) => {
        const [beadId = ''] = ctx.args.positionals;
        const { client, townId } = await ctx.townClient();
        return printBead(ctx, 'closed', await client.closeBead(townId, beadId, ctx.option('reason')));
      }),
  },
  {
    name: 'reopen',
    summary: 'reopen a closed or failed bead with fresh attempts',
    run: (sys, argv) =>
      runWith(sys, argv, REOPEN, async (ctx) => {
        const [beadId = ''] = ctx.args.positionals;
        const { client, townId } = await ctx.townClient();
        return printBead(ctx, 'reopened', await client.reopenBead(townId, beadId));
      }),
  },
  {
    name: 'delete',
    summary: 'delete a bead no agent holds and nothing depends on',
    run: (sys, argv) =>
      runWith(sys, argv, DELETE, async (ctx) => {
        const [beadId = ''] = ctx.args.positionals;
        const { client, townId } = await ctx.townClient();
        const result = await client.deleteBead(townId, beadId);
        if (ctx.json) ctx.out.json(result);
        else ctx.out.line(`deleted bead ${result.beadId}`);
        return 0;
      }),
  },
  {
    name: 'list',
    summary: 'one page of beads, with filters',
    run: (sys, argv) =>
      runWith(sys, argv, LIST, async (ctx) => {
        const { client, townId } = await ctx.townClient();
        const query: BeadPageQuery = {};
        const status = ctx.option('status');
        const label = ctx.option('label');
        const assignee = ctx.option('assignee');
        const rig = ctx.option('rig');
        const limit = ctx.option('limit');
        const cursor = ctx.option('cursor');
        if (status !== undefined) query.status = status;
        if (label !== undefined) query.label = label;
        if (assignee !== undefined) query.assigneeId = assignee;
        if (rig !== undefined) query.rigId = await rigIdOf(client, townId, rig);
        if (limit !== undefined) query.limit = parseLimit(limit, LIST.usage);
        if (cursor !== undefined) query.cursor = cursor;
        const page = await client.listBeadPage(townId, query);
        if (ctx.json) {
          ctx.out.json(page);
          return 0;
        }
        if (page.beads.length === 0) ctx.out.note('no beads match');
        else {
          const rows = page.beads.map((b) => [
            b.id,
            { text: b.status, colour: b.status === 'failed' ? ('red' as const) : null },
            `P${b.priority}`,
            b.labels.join(',') || '-',
            b.dependsOn.join(',') || '-',
            b.assigneeId ?? '-',
            formatAge(b.updatedAt, ctx.now),
            b.title.length > 50 ? `${b.title.slice(0, 49)}…` : b.title,
          ]);
          const columns = ['ID', 'STATUS', 'PRI', 'LABELS', 'DEPENDS ON', 'ASSIGNEE', 'UPDATED', 'TITLE'].map((header) => ({ header }));
          ctx.out.line(renderTable(columns, rows, ctx.out.colour));
        }
        if (page.nextCursor !== null) ctx.out.note(`more: gastown bead list --cursor ${page.nextCursor}`);
        return 0;
      }),
  },
];

export const beadCommand: Command = {
  name: 'bead',
  summary: 'create, edit, close, reopen, delete and list beads',
  run: (sys, argv) => runGroup(sys, argv, 'bead', SUBCOMMANDS),
};
