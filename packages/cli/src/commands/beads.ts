/** `gastown beads [--status <status>]`: the town's work items (and what their model calls cost). */
import { formatUsd, type UsageRow } from '@gastown/protocol';
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { ApiClient } from '../client/api-client';
import { CliError } from '../errors';
import { renderTable } from '../output/table';
import { formatAge } from '../output/time';
import { pullRequestCell, pullRequestLines } from '../views/pull-request';
import { runWith, type Command } from './command';
import { beadFailureLines } from '../views/failure-reasons';

const SPEC = {
  usage: `usage: gastown beads [--status <status>] [--town <id|name>]

The town's beads (work items), oldest first. When some bead has a pull request (its rig merges
through pull requests), a PR column shows it (\`#12 open\`, \`merged\`, \`closed\`) and the URLs
are listed under the table. When some bead's work called a model, a COST column shows what its
calls cost (\`gastown usage --by bead\` has the tokens).

Options:
  --status <status>  only beads with this status: open, in_progress, in_review, closed, failed
${TOWN_HELP}

Example:
  gastown beads --status in_progress`,
  options: { ...TOWN_OPTION, status: { type: 'string' } },
} as const;

const MAX_TITLE = 60;

/**
 * Each bead's usage row (from `usage?by=bead`). Best effort: a server without usage, or one that
 * fails to answer it, leaves the COST column out rather than failing the list.
 */
async function beadCosts(client: ApiClient, townId: string): Promise<Map<string, UsageRow>> {
  try {
    const usage = await client.usage(townId, { by: 'bead' });
    return new Map(usage.rows.filter((r) => r.calls > 0).map((r) => [r.key, r]));
  } catch (err) {
    if (err instanceof CliError && err.code !== 'interrupted') return new Map();
    throw err;
  }
}

function costCell(row: UsageRow | undefined): string {
  if (!row) return '-';
  return `${formatUsd(row.costMicros)}${row.unpricedCalls > 0 ? '*' : ''}`;
}

export const beadsCommand: Command = {
  name: 'beads',
  summary: "the town's work items",
  run: (sys, argv) =>
    runWith(sys, argv, SPEC, async (ctx) => {
      const { client, townId } = await ctx.townClient();
      const beads = await client.listBeads(townId, ctx.option('status'));
      if (ctx.json) {
        ctx.out.json({ beads });
        return 0;
      }
      if (beads.length === 0) {
        ctx.out.note(ctx.option('status') ? `no ${ctx.option('status')} beads` : 'no beads yet: ask the mayor for work with `gastown mayor "<message>"`');
        return 0;
      }
      const now = ctx.now;
      const costs = await beadCosts(client, townId);
      const withCost = beads.some((b) => costs.has(b.id));
      // The PR column only when some bead has a pull request (a town of direct-merge rigs never does).
      const pullRequests = pullRequestLines(beads);
      const withPr = pullRequests.length > 0;
      const rows = beads.map((b) => [
        b.id,
        b.type,
        { text: b.status, colour: b.status === 'failed' ? ('red' as const) : null },
        b.assigneeId ?? '-',
        String(b.attempts),
        formatAge(b.updatedAt, now),
        ...(withCost ? [costCell(costs.get(b.id))] : []),
        ...(withPr ? [pullRequestCell(b)] : []),
        b.title.length > MAX_TITLE ? `${b.title.slice(0, MAX_TITLE - 1)}…` : b.title,
      ]);
      const columns = [
        { header: 'ID' },
        { header: 'TYPE' },
        { header: 'STATUS' },
        { header: 'ASSIGNEE' },
        { header: 'ATTEMPTS', align: 'right' as const },
        { header: 'UPDATED' },
        ...(withCost ? [{ header: 'COST', align: 'right' as const }] : []),
        ...(withPr ? [{ header: 'PR' }] : []),
        { header: 'TITLE' },
      ];
      ctx.out.line(renderTable(columns, rows, ctx.out.colour));
      if (withPr) ctx.out.line(['', 'pull requests:', ...pullRequests.map((l) => `  ${l}`)].join('\n'));
      const failures = beadFailureLines(beads);
      if (failures.length > 0) ctx.out.line(['', 'last failures:', ...failures].join('\n'));
      return 0;
    }),
};
