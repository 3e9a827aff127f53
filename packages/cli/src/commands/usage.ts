/** `gastown usage [--by <group>] [--from <day>] [--to <day>]`: the town's model calls, tokens and cost. */
import { USAGE_GROUPS, type UsageGroup } from '@gastown/protocol';
import { TOWN_HELP, TOWN_OPTION } from '../args';
import { CliError } from '../errors';
import { renderTable } from '../output/table';
import { spendLine, totalsLine, UNPRICED_NOTE, usageColumns, usageRows } from '../views/usage-table';
import { runWith, type Command } from './command';

const DAY_MS = 86_400_000;

const SPEC = {
  usage: `usage: gastown usage [--by <group>] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--town <id|name>]

The town's model calls, grouped: calls, input tokens (without cache), output tokens, cache reads
and writes, and their cost at the town's prices (a * marks calls of a model without a price).
Then the totals, and when the town has a spend cap, where it stands in the current period
(\`spend: $4.10 of $5.00 per day (82 %, warning)\`; at 100 % no new work starts).

Options:
  --by <group>       ${USAGE_GROUPS.join(' | ')} (default: day)
  --from <day>       from the start of this UTC day
  --to <day>         up to the end of this UTC day (included)
${TOWN_HELP}
With --json: the API's UsageResponse as it is (costs in micro-dollars and USD).

Examples:
  gastown usage
  gastown usage --by bead --from 2026-03-01
  gastown usage --by model --json`,
  options: { ...TOWN_OPTION, by: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
} as const;

/** `2026-03-01` → the start of that UTC day (ms). */
export function parseDay(raw: string, option: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw.trim());
  const at = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (!match || Number.isNaN(at) || new Date(at).toISOString().slice(0, 10) !== raw.trim()) {
    throw new CliError('usage', `${option} must be a day as YYYY-MM-DD (UTC), e.g. 2026-03-01`, { usage: SPEC.usage });
  }
  return at;
}

/** The query the flags ask for: `to` is exclusive on the wire, so `--to` names the last day included. */
export function usageQuery(values: { by?: string; from?: string; to?: string }): { by?: UsageGroup; from?: number; to?: number } {
  const query: { by?: UsageGroup; from?: number; to?: number } = {};
  if (values.by !== undefined) {
    if (!(USAGE_GROUPS as readonly string[]).includes(values.by))
      throw new CliError('usage', `--by must be one of ${USAGE_GROUPS.join(', ')}`, { usage: SPEC.usage });
    query.by = values.by as UsageGroup;
  }
  if (values.from !== undefined) query.from = parseDay(values.from, '--from');
  if (values.to !== undefined) query.to = parseDay(values.to, '--to') + DAY_MS;
  if (query.from !== undefined && query.to !== undefined && query.from >= query.to) {
    throw new CliError('usage', '--from must not be after --to', { usage: SPEC.usage });
  }
  return query;
}

export const usageCommand: Command = {
  name: 'usage',
  summary: 'model calls, tokens and cost (by day, bead, role, model, rig or agent)',
  run: (sys, argv) =>
    runWith(sys, argv, SPEC, async (ctx) => {
      const query = usageQuery({ by: ctx.option('by'), from: ctx.option('from'), to: ctx.option('to') });
      const { client, townId } = await ctx.townClient();
      const usage = await client.usage(townId, query);
      if (ctx.json) {
        ctx.out.json(usage);
        return 0;
      }
      if (usage.rows.length === 0) ctx.out.note('no model calls in this period');
      else ctx.out.line(renderTable(usageColumns(usage.by), usageRows(usage), ctx.out.colour));
      ctx.out.line(totalsLine(usage.totals));
      if (usage.spend) {
        const spend = spendLine(usage.spend);
        ctx.out.line(ctx.out.paint(spend.text, spend.colour));
      }
      if (usage.totals.unpricedCalls > 0) ctx.out.note(UNPRICED_NOTE);
      return 0;
    }),
};
