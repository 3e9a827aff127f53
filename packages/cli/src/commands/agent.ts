/** `gastown agent stop <agentId>`: stop an agent (a stuck polecat, a mayor to restart fresh); print what the server did. */
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment } from '../context';
import { callForAgent } from '../town-resolution';
import { agentNudgeCommand } from './agent-nudge';
import { agentRestartCommand } from './agent-restart';
import { runGroup, runWith, type Command } from './command';

const STOP = {
  usage: `usage: gastown agent stop <agentId> [--town <id|name>]

Stop an agent: its container is told first (the agent reports its completion and flushes its
events), then its credentials are revoked (generation + 1). A working polecat's bead goes back
to open and is dispatched again; a stopped mayor starts afresh on the next message. Use it for
an agent that is stuck: a working agent keeps its container awake.

Options:
${TOWN_HELP}

Example:
  gastown agent stop ag_1a2b3c4d5e`,
  options: TOWN_OPTION,
  positionals: { names: ['agentId'], min: 1, max: 1 },
};

async function stop(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, STOP, async (ctx) => {
    const { client, townId } = await ctx.townClient();
    const agentId = ctx.args.positionals[0] ?? '';
    const agent = await callForAgent(client, townId, () => client.stopAgent(townId, agentId));
    if (ctx.json) ctx.out.json({ agent });
    else ctx.out.line(`stopped ${agent.role} ${agent.name} (${agent.id}): status ${agent.status}, generation ${agent.credential.gen}`);
    return 0;
  });
}

export const agentCommand: Command = {
  name: 'agent',
  summary: 'stop, restart or nudge an agent',
  run: (sys, argv) =>
    runGroup(sys, argv, 'agent', [
      { name: 'stop', summary: 'stop an agent (container first, then revoke its credentials)', run: stop },
      agentRestartCommand,
      agentNudgeCommand,
    ]),
};
