/** `gastown rig delete <rigId|name> --yes`: delete a rig (its agents stopped, its open work cancelled, its workspaces removed). */
import type { DeleteRigResponse } from '@gastown/protocol';
import { TOWN_HELP, TOWN_OPTION } from '../args';
import type { CliEnvironment } from '../context';
import { CliError } from '../errors';
import { runWith, type Subcommand } from './command';

const DELETE = {
  usage: `usage: gastown rig delete <rigId|name> [--town <id|name>] --yes [--json]

Delete a rig: its agents are stopped (their credentials revoked), every bead of it that is not
closed is closed as cancelled, and the town's container removes its repositories. Closed beads
and stopped agents stay listed as history. There is no undo: --yes is required.

Options:
${TOWN_HELP}
  --yes              confirm the deletion

Examples:
  gastown rig delete web --yes
  gastown rig delete rig_1a2b3c4d5e --town my-town --yes --json`,
  options: { ...TOWN_OPTION, yes: { type: 'boolean' } },
  positionals: { names: ['rig'], min: 1, max: 1 },
} as const;

const WORKSPACES: Record<DeleteRigResponse['workspaces'], string> = {
  removed: 'its workspaces were removed',
  container_asleep: 'the container was asleep (no workspaces to remove)',
  failed: 'the container could not be told to remove its workspaces (they go with its next restart)',
};

export function describeRigDeletion(name: string, result: DeleteRigResponse): string {
  return `deleted rig ${name} (${result.rigId}): ${result.cancelledBeadIds.length} bead(s) cancelled, ${result.stoppedAgentIds.length} agent(s) stopped; ${WORKSPACES[result.workspaces]}`;
}

async function remove(sys: CliEnvironment, argv: string[]): Promise<number> {
  return runWith(sys, argv, DELETE, async (ctx) => {
    if (ctx.args.values.yes !== true) throw new CliError('usage', 'deleting a rig cannot be undone: add --yes to confirm', { usage: DELETE.usage });
    const [ref = ''] = ctx.args.positionals;
    const { client, townId } = await ctx.townClient();
    const rig = (await client.listRigs(townId)).find((r) => r.id === ref || r.name === ref);
    if (!rig) throw new CliError('not_found', `rig ${ref} not found in town ${townId} (see \`gastown rig list\`)`);
    const result = await client.deleteRig(townId, rig.id);
    if (ctx.json) ctx.out.json(result);
    else ctx.out.line(describeRigDeletion(rig.name, result));
    return 0;
  });
}

export const rigDeleteCommand: Subcommand = {
  name: 'delete',
  summary: 'delete a rig (agents stopped, open beads cancelled, workspaces removed; --yes)',
  run: remove,
};
