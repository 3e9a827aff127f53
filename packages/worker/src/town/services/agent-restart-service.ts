/**
 * The owner's restart of one agent (`POST …/agents/:agentId/restart`): a new run at gen + 1 with a
 * new credential family; the container replaces a live run of an older generation. A polecat keeps
 * its bead and branch (its repository is reused), and the restart spends none of the bead's
 * attempts. What can be restarted:
 * - the mayor, always;
 * - a polecat that still holds its bead (in progress, assigned to it) — one that was stopped gave
 *   its bead back (reopen the bead instead: 409);
 * - a refinery that runs (starting, working or waiting) — an idle one is started by the
 *   reconciler when a merge request waits (409).
 */
import { GastownError, type RestartAgentResponse } from '@gastown/protocol';
import type { AgentService } from './agent-service';
import type { TownContext } from './context';
import type { DispatchService } from './dispatch-service';

const LIVE = new Set(['starting', 'working', 'waiting']);
export const USER_RESTART_REASON = 'user_restart';

export class AgentRestartService {
  constructor(
    private readonly ctx: TownContext,
    private readonly agents: AgentService,
    private readonly dispatch: DispatchService,
  ) {}

  async restart(agentId: string): Promise<RestartAgentResponse> {
    const agent = this.agents.record(agentId);
    const previousGen = agent.gen;
    if (agent.role === 'polecat') {
      const bead = agent.beadId ? this.ctx.repos.beads.get(agent.beadId) : null;
      if (!bead || bead.status !== 'in_progress' || bead.assigneeId !== agent.id) {
        throw new GastownError('conflict', `polecat ${agent.id} holds no bead any more; reopen its bead to run it again`);
      }
      this.ctx.event({ type: 'agent.restart_requested', agentId, beadId: bead.id, data: { previousGen } });
      // a restart the owner asked for spends none of the bead's attempts, not even when the start fails
      await this.dispatch.startPolecat(agentId, USER_RESTART_REASON, true);
    } else {
      if (agent.role === 'refinery' && !LIVE.has(agent.status)) {
        throw new GastownError('conflict', `refinery ${agent.id} is not running; it is started when a merge request waits`);
      }
      this.ctx.event({ type: 'agent.restart_requested', agentId, beadId: null, data: { previousGen } });
      await this.dispatch.start(agentId, { prompt: null, reason: USER_RESTART_REASON });
    }
    return { agent: this.agents.view(agentId), previousGen };
  }
}
