/** `gastown status`: the town's agents and their credential health. */
import { TOWN_HELP, TOWN_OPTION } from '../args';
import { renderTable } from '../output/table';
import { mayorSessionLine } from '../views/mayor-session';
import { lacksModelProvider, noProviderHint, noProviderMessage } from '../views/no-provider';
import { STATUS_COLUMNS, needsAttention, sortAgents, statusRow } from '../views/status-table';
import { runWith, type Command } from './command';
import { agentFailureLines } from '../views/failure-reasons';

const SPEC = {
  usage: `usage: gastown status [--town <id|name>]

The town's agents: role, status, hooked bead, last heartbeat, and credential health (state,
time until the access token expires, last refresh, refresh count, and the broker's consecutive
refresh failures and 401s seen). On a terminal, what needs attention is coloured.
Under the table, the mayor's saved conversation: when it was last saved, its turns and its
stored size (\`mayor session: saved 3m ago · 12 turns · 48 KiB\`, or \`none saved yet\`).
With --json, each agent's \`session\` is as the API gives it (null when none is saved).
A town with no model provider (or no default model) gets a warning on stderr with the commands
that set one up (--json: \`providerConfigured\`).

Options:
${TOWN_HELP}`,
  options: TOWN_OPTION,
};

export const statusCommand: Command = {
  name: 'status',
  summary: 'agents and their credential health',
  run: (sys, argv) =>
    runWith(sys, argv, SPEC, async (ctx) => {
      const { client, townId } = await ctx.townClient();
      const [town, agents] = await Promise.all([client.getTown(townId), client.listAgents(townId)]);
      if (ctx.json) {
        ctx.out.json({ town: { id: town.id, name: town.name }, agents, at: ctx.now, providerConfigured: !lacksModelProvider(town) });
        return 0;
      }
      const now = ctx.now;
      const sorted = sortAgents(agents);
      const rows = sorted.map((a) => statusRow(a, now));
      ctx.out.line(`town ${town.name} (${town.id}): ${agents.length} agent${agents.length === 1 ? '' : 's'}`);
      if (rows.length > 0) ctx.out.line(renderTable(STATUS_COLUMNS, rows, ctx.out.colour));
      const session = mayorSessionLine(agents, now);
      if (session !== null) ctx.out.line(session);
      const attention = sorted.filter((_, i) => needsAttention([rows[i] ?? []]));
      if (attention.length > 0) ctx.out.note(`needs attention: ${attention.map((a) => `${a.name} (${a.id})`).join(', ')}`, 'yellow');
      const failed = agentFailureLines(sorted);
      if (failed.length > 0) ctx.out.line(['failed:', ...failed].join('\n'));
      if (lacksModelProvider(town)) {
        ctx.out.note(`warning: ${noProviderMessage(town)}`, 'yellow');
        ctx.out.note(noProviderHint(town));
      }
      return 0;
    }),
};
