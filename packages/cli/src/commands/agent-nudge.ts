/** `gastown agent nudge <agentId> <text…>`: a short note a running agent reads at its next step (no new turn). */
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment } from '../context';
import { CliError } from '../errors';
import { callForAgent } from '../town-resolution';
import { runWith, type Subcommand } from './command';

const NUDGE = {
  usage: `usage: gastown agent nudge <agentId> <text…> [--town <id|name>] [--json]

Nudge a running agent: the text (at most 2,000 characters) goes into its session without starting
a turn for it; the agent reads it at its next step, marked as coming from you. Use it to steer a
polecat at work ("run the tests before you finish"). An agent that is not running → exit 6.

Options:
${TOWN_HELP}

Example:
  gastown agent nudge ag_1a2b3c4d5e "the API changed: use v2 endpoints"`,
  options: TOWN_OPTION,
  positionals: { names: ['agentId', 'text'], min: 2, max: Number.POSITIVE_INFINITY },
};

async function nudge(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, NUDGE, async (ctx) => {
    const [agentId = '', ...words] = ctx.args.positionals;
    const text = words.join(' ').trim();
    if (text === '') throw new CliError('usage', 'nudge: the text is empty');
    const { client, townId } = await ctx.townClient();
    const result = await callForAgent(client, townId, () => client.nudgeAgent(townId, agentId, text));
    if (ctx.json) ctx.out.json(result);
    else ctx.out.line(`nudged ${result.agent.role} ${result.agent.name} (${result.agent.id}): it reads the note at its next step`);
    return 0;
  });
}

export const agentNudgeCommand: Subcommand = {
  name: 'nudge',
  summary: 'nudge a running agent (a note it reads at its next step, no new turn)',
  run: nudge,
};
