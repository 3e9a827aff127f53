/** `gastown credentials reissue <agentId>`: mint a new credential family and push it; print what really happened. */
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment } from '../context';
import { formatUntil } from '../output/time';
import { callForAgent } from '../town-resolution';
import { runGroup, runWith, type Command } from './command';

const REISSUE = {
  usage: `usage: gastown credentials reissue <agentId> [--town <id|name>]

Mint a new credential family for the agent and push it to its container. Prints the real
outcome: delivered to the running agent, or minted while the agent is not running. A container
failure is an error (exit 1), never a silent success.

Options:
${TOWN_HELP}

Example:
  gastown credentials reissue ag_1a2b3c4d5e`,
  options: TOWN_OPTION,
  positionals: { names: ['agentId'], min: 1, max: 1 },
};

async function reissue(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, REISSUE, async (ctx) => {
    const { client, townId } = await ctx.townClient();
    const agentId = ctx.args.positionals[0] ?? '';
    const result = await callForAgent(client, townId, () => client.reissueCredentials(townId, agentId));
    if (ctx.json) {
      ctx.out.json(result);
      return 0;
    }
    const who = `${result.agent.name} (${result.agent.id})`;
    const expires = `the new access token expires in ${formatUntil(result.tokenExpiresAt, ctx.now)}`;
    if (result.outcome === 'delivered') ctx.out.line(`reissued credentials for ${who}: delivered to the running agent; ${expires}`);
    else ctx.out.line(`reissued credentials for ${who}: minted, but no container runs the agent (it gets fresh credentials when it is next dispatched)`);
    return 0;
  });
}

export const credentialsCommand: Command = {
  name: 'credentials',
  summary: "reissue an agent's credentials",
  run: (sys, argv) => runGroup(sys, argv, 'credentials', [{ name: 'reissue', summary: 'mint and push a new credential family for an agent', run: reissue }]),
};
