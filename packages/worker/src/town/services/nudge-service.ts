import { GastownError, nudgeText, type Agent } from '@gastown/protocol';
import type { AgentRecord } from '../repositories/agent-repository';
import type { AgentService } from './agent-service';
import type { TownContext } from './context';

/** Who nudges: the town's owner (user API, CLI, dashboard) or an agent (the mayor's gt_nudge). */
export type NudgeSender = { kind: 'user' } | { kind: 'agent'; agent: AgentRecord };

const LIVE: ReadonlySet<string> = new Set(['starting', 'working', 'waiting']);

/**
 * Nudges (protocol nudge-api.ts): a short message put into a live agent's session without a turn
 * being started for it — the agent sees it at its next model call. Only a live run can take one
 * (409 conflict otherwise, also when the container no longer has the run); a nudge never wakes a
 * sleeping container. Event `agent.nudged` (who and how long, not the text).
 */
export class NudgeService {
  constructor(
    private readonly ctx: TownContext,
    private readonly agents: AgentService,
  ) {}

  async nudge(agentId: string, text: string, from: NudgeSender): Promise<Agent> {
    const agent = this.agents.record(agentId);
    if (from.kind === 'agent' && from.agent.id === agent.id) throw new GastownError('validation_failed', 'agentId: an agent cannot nudge itself');
    if (!LIVE.has(agent.status) || agent.gen < 1) throw new GastownError('conflict', `agent ${agent.name} is not running (${agent.status}): nothing to nudge`);
    const sender = from.kind === 'user' ? 'the user' : `${from.agent.role} ${from.agent.name}`;
    const delivery = await this.ctx.container.nudge(agent.id, { text: nudgeText(sender, text) });
    if (delivery !== 'delivered') {
      throw new GastownError(
        'conflict',
        `agent ${agent.name} is not running in the town's container (${delivery === 'ending' ? 'its run is ending' : 'no live run'})`,
      );
    }
    this.ctx.event({
      type: 'agent.nudged',
      agentId: agent.id,
      beadId: agent.beadId,
      data: { from: from.kind === 'user' ? 'user' : from.agent.id, chars: text.length },
    });
    return this.agents.view(agent.id);
  }
}
