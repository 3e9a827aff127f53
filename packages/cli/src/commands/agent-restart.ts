/** `gastown agent restart <agentId>`: a new run of the agent (gen + 1); a polecat keeps its bead. */
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment } from '../context';
import { callForAgent } from '../town-resolution';
import { runWith, type Subcommand } from './command';

const RESTART = {
  usage: `usage: gastown agent restart <agentId> [--town <id|name>] [--json]

Restart an agent that is stuck: a new run with new credentials (generation + 1; the old run's
tokens stop working) replaces the old one in the town's container. A polecat keeps its bead and
branch, and the restart spends none of the bead's attempts. The mayor can always be restarted;
a polecat only while it holds its bead (for a failed bead use \`gastown bead reopen\`); a
refinery only while it runs.

Options:
${TOWN_HELP}

Example:
  gastown agent restart ag_1a2b3c4d5e`,
  options: TOWN_OPTION,
  positionals: { names: ['agentId'], min: 1, max: 1 },
};

async function restart(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, RESTART, async (ctx) => {
    const { client, townId } = await ctx.townClient();
    const agentId = ctx.args.positionals[0] ?? '';
    const result = await callForAgent(client, townId, () => client.restartAgent(townId, agentId));
    if (ctx.json) ctx.out.json(result);
    else {
      const { agent } = result;
      ctx.out.line(`restarted ${agent.role} ${agent.name} (${agent.id}): generation ${result.previousGen} → ${agent.credential.gen}, status ${agent.status}`);
    }
    return 0;
  });
}

export const agentRestartCommand: Subcommand = {
  name: 'restart',
  summary: 'restart an agent (a new run, generation + 1; a polecat keeps its bead)',
  run: restart,
};
