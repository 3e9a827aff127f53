import { asGastownError, codeOf, GastownError, type Agent, type AgentRole, type AgentStatus, type ReissueResponse } from '@gastown/protocol';
import { toAgent } from '../credential-health';
import { reissueToRunningAgent, revokeRunCredentials } from '../credentials';
import type { AgentRecord } from '../repositories/agent-repository';
import type { TownContext } from './context';
import type { ReviewService } from './review-service';
import type { TownService } from './town-service';

export interface CreateAgentInput {
  role: AgentRole;
  rigId: string | null;
  beadId?: string | null;
  name?: string;
  status?: AgentStatus;
}

/** Agent rows: create, list, stop, and the user's reissue (credentials themselves: ../credentials). */
export class AgentService {
  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
    private readonly review: ReviewService,
  ) {}

  list(): Agent[] {
    const now = this.ctx.clock.now();
    const sessions = this.ctx.repos.sessions.summaries();
    return this.ctx.repos.agents.list().map((a) => toAgent(a, this.ctx.townId, now, sessions.get(a.id) ?? null));
  }

  record(agentId: string): AgentRecord {
    const agent = this.ctx.repos.agents.get(agentId);
    if (!agent) throw new GastownError('not_found', 'agent not found');
    return agent;
  }

  view(agentId: string): Agent {
    return toAgent(this.record(agentId), this.ctx.townId, this.ctx.clock.now(), this.ctx.repos.sessions.summary(agentId));
  }

  /** The town's one mayor, created on first need. */
  ensureMayor(): AgentRecord {
    return this.ctx.repos.agents.mayor() ?? this.record(this.create({ role: 'mayor', rigId: null, name: 'mayor' }).id);
  }

  create(input: CreateAgentInput): Agent {
    const { repos, ids, clock } = this.ctx;
    if (input.role === 'mayor' && repos.agents.mayor()) throw new GastownError('conflict', 'this town already has a mayor');
    if (input.role !== 'mayor' && input.rigId === null) throw new GastownError('validation_failed', `a ${input.role} needs a rig`);
    if (input.rigId !== null) this.town.rig(input.rigId);
    if (input.beadId && !repos.beads.get(input.beadId)) throw new GastownError('not_found', 'bead not found');
    const id = ids('ag');
    const now = clock.now();
    this.ctx.transaction(() => {
      repos.agents.insert({
        id,
        rigId: input.rigId,
        role: input.role,
        name: input.name ?? `${input.role}-${id.slice(3, 9)}`,
        status: input.status ?? 'idle',
        beadId: input.beadId ?? null,
        createdAt: now,
      });
      if (input.beadId) repos.beads.update(input.beadId, { status: 'in_progress', assigneeId: id }, now);
      this.ctx.event({ type: 'agent.created', agentId: id, beadId: input.beadId ?? null, data: { role: input.role, rigId: input.rigId } });
    });
    return this.view(id);
  }

  /**
   * Stop: the container first, then gen + 1 (every token dies on next use), families revoked, bead
   * released. Idempotent. The container is told first, while the run's tokens are still good: its
   * final completion report and event flush (sent before the container answers the stop) are
   * accepted. Revoking first made them fail with 401 token_revoked and the container retried them
   * for ~30 s before giving up, losing them. A container that cannot be told changes nothing: the
   * tokens die right after anyway.
   */
  async stop(agentId: string, reason: string): Promise<Agent> {
    const { repos, clock, container, logger } = this.ctx;
    const before = this.record(agentId);
    if (before.status === 'stopped') return this.view(agentId);
    try {
      await container.stop(agentId, reason);
    } catch (err) {
      logger.warn({ msg: 'container stop failed', townId: this.ctx.townId, agentId, code: codeOf(err, 'upstream_failed') });
    }
    const agent = this.record(agentId);
    if (agent.status === 'stopped') return this.view(agentId); // a concurrent stop got there first
    const now = clock.now();
    this.ctx.transaction(() => {
      // the run's final completion report (sent while it stopped) already revoked it: one bump per run end
      const gen = agent.gen > before.gen ? agent.gen : revokeRunCredentials(this.ctx, agentId, 'stopped', now);
      repos.agents.setStatus(agentId, 'stopped', now);
      const bead = agent.beadId ? repos.beads.get(agent.beadId) : null;
      if (bead && bead.status === 'in_progress' && bead.assigneeId === agentId) {
        repos.beads.update(bead.id, { status: 'open', assigneeId: null }, now);
      }
      this.ctx.event({ type: 'agent.stopped', agentId, beadId: agent.beadId, data: { gen, reason } });
    });
    return this.view(agentId);
  }

  /**
   * A new credential family at a new generation (gen + 1), pushed to the container before the old
   * credentials are revoked (credentials/reissue.ts): the running agent never fails a call in
   * between, and afterwards the old access token gets 401 token_revoked. Merge requests handed to
   * the run follow it to the new generation. The outcome is what really happened: delivered, or
   * minted but no container has the agent; a container failure is a 502/503 error, never a silent
   * success.
   */
  async reissue(agentId: string): Promise<ReissueResponse> {
    const agent = this.record(agentId);
    if (agent.status === 'stopped') throw new GastownError('conflict', 'agent is stopped; its credentials cannot be reissued');
    if (agent.gen < 1) throw new GastownError('conflict', 'agent has never been dispatched; there is nothing to reissue');
    const granted = await reissueToRunningAgent(this.ctx, agent, {
      onNewGeneration: (previousGen, gen) => this.review.followGeneration(agentId, previousGen, gen),
    });
    if (!granted.ok) {
      const code = codeOf(granted.error, 'upstream_failed');
      this.ctx.event({ type: 'credential.reissued', agentId, data: { gen: granted.gen, outcome: 'push_failed', code } });
      const message = 'the container did not accept the new credentials';
      // a container's own 502/503 keeps its code and message; anything else is a 502
      if (code === 'container_unavailable' || code === 'upstream_failed') throw asGastownError(granted.error, 'upstream_failed', message);
      throw new GastownError('upstream_failed', message, { cause: granted.error });
    }
    const outcome = granted.delivery === 'delivered' ? 'delivered' : 'minted_not_running';
    this.ctx.event({ type: 'credential.reissued', agentId, data: { gen: granted.gen, previousGen: agent.gen, outcome } });
    return { agent: this.view(agentId), outcome, tokenExpiresAt: granted.accessTokenExpiresAt };
  }
}
