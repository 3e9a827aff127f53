/** `gastown town restart`: restart the town's container so changed env vars (provider keys) and settings take effect. */
import type { ContainerRestartResponse } from '@gastown/protocol';
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment } from '../context';
import { runWith, type Subcommand } from './command';

const RESTART = {
  usage: `usage: gastown town restart [--town <id|name>] [--json]

Restart the town's container so its next boot takes the current env vars and settings — after
you fix a provider key, for example. The settings are handed over first, then the container is
stopped gracefully: working polecats commit and push their work and are dispatched again at once
on the same branch, the mayor keeps its conversation. A town whose container sleeps is left
asleep (its next start takes the new settings anyway). The command returns once the container
has stopped.

Options:
${TOWN_HELP}

Examples:
  gastown town restart
  gastown town restart --town my-town --json`,
  options: TOWN_OPTION,
};

/** What the restart did, in one line. */
export function describeRestart(townId: string, result: ContainerRestartResponse): string {
  return result.wasRunning
    ? `restarted town ${townId}: its container stopped (working polecats drained and are dispatched again); the next start takes the current settings`
    : `town ${townId}'s container was asleep: nothing to stop; its next start takes the current settings`;
}

async function restart(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, RESTART, async (ctx) => {
    const { client, townId } = await ctx.townClient();
    const result = await client.restartContainer(townId);
    if (ctx.json) ctx.out.json({ townId, ...result });
    else ctx.out.line(describeRestart(townId, result));
    return 0;
  });
}

export const townRestartCommand: Subcommand = {
  name: 'restart',
  summary: "restart the town's container (env var changes take effect)",
  run: restart,
};
