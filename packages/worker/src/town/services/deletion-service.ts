/**
 * Deleting a rig, and the town's side of deleting a whole town.
 *
 * A rig: its agents are stopped (the container first, then gen + 1 and their credential families
 * revoked: agent-service.ts `stop`), every bead of it that is not closed is closed as cancelled
 * (metadata `{cancelled: true, reason}`), the container removes its workspaces (the rig's mirror,
 * its agents' repositories), then the rig's rows go and it answers 404. Its closed beads and its
 * stopped agents stay as history.
 *
 * A town: the container is destroyed (killed without a drain; its stored env vars and data
 * removed) before anything else, so no agent of it runs on; every agent's credentials are revoked;
 * then the TownDO deletes its whole storage (town-do.ts `deleteTown`) and the worker deletes the
 * session objects and the registry entry. A container that cannot be destroyed fails the deletion
 * (502/503) with nothing deleted: it can be retried.
 */
import { codeOf, type DeleteRigResponse, type WorkspaceRemoval } from '@gastown/protocol';
import { revokeRunCredentials } from '../credentials';
import { DeletionRepository } from '../repositories/deletion-repository';
import type { AgentService } from './agent-service';
import type { TownContext } from './context';
import type { TownService } from './town-service';

export const RIG_DELETED_REASON = 'rig deleted';

export interface TownDeletionPlan {
  containerWasRunning: boolean;
  /** R2 keys of the town's stored sessions: the worker deletes them once the rows are gone. */
  sessionObjectKeys: string[];
}

export class DeletionService {
  private readonly rows: DeletionRepository;

  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
    private readonly agents: AgentService,
  ) {
    this.rows = new DeletionRepository(ctx.sql);
  }

  async deleteRig(rigId: string): Promise<DeleteRigResponse> {
    const { repos, clock, logger, townId } = this.ctx;
    const rig = this.town.rig(rigId);
    const rigAgents = repos.agents.list().filter((a) => a.rigId === rig.id);
    const stoppedAgentIds: string[] = [];
    for (const agent of rigAgents) {
      if (agent.status === 'stopped') continue;
      await this.agents.stop(agent.id, RIG_DELETED_REASON);
      stoppedAgentIds.push(agent.id);
    }
    let workspaces: WorkspaceRemoval;
    try {
      workspaces = await this.ctx.container.removeRig(
        rig.id,
        rigAgents.map((a) => a.id),
      );
    } catch (err) {
      // the rig goes anyway: its workspaces are unreachable without it (the container's next boot starts without them)
      const code = codeOf(err, 'upstream_failed');
      logger.warn({ msg: 'rig workspaces not removed', townId, rigId: rig.id, code });
      workspaces = 'failed';
    }
    const now = clock.now();
    const cancelledBeadIds = this.ctx.transaction(() => {
      const cancelled: string[] = [];
      for (const bead of repos.beads.list({ rigId: rig.id })) {
        if (bead.status === 'closed') continue;
        repos.beads.update(bead.id, { status: 'closed', assigneeId: null, metadata: { ...bead.metadata, cancelled: true, reason: RIG_DELETED_REASON } }, now);
        this.ctx.event({
          type: 'bead.status_changed',
          beadId: bead.id,
          agentId: null,
          data: { from: bead.status, to: 'closed', cancelled: true, reason: RIG_DELETED_REASON },
        });
        cancelled.push(bead.id);
      }
      this.rows.deleteRig(rig.id);
      this.ctx.gitTokens.invalidate(rig.id);
      this.ctx.event({
        type: 'rig.deleted',
        data: { rigId: rig.id, name: rig.name, cancelledBeads: cancelled.length, stoppedAgents: stoppedAgentIds.length, workspaces },
      });
      return cancelled;
    });
    logger.info({ msg: 'rig deleted', townId, rigId: rig.id, cancelledBeads: cancelledBeadIds.length, workspaces });
    return { deleted: true, rigId: rig.id, cancelledBeadIds, stoppedAgentIds, workspaces };
  }

  /**
   * Everything of the town that lives outside this object's storage, before that storage is
   * deleted: the container destroyed (a failure throws: nothing is deleted), every agent's
   * credentials revoked, the git tokens dropped. Returns what the worker removes afterwards.
   */
  async prepareTownDeletion(): Promise<TownDeletionPlan> {
    const { repos, clock, logger, townId } = this.ctx;
    const { wasRunning } = await this.ctx.container.destroy();
    const now = clock.now();
    const sessionObjectKeys = this.ctx.transaction(() => {
      for (const agent of repos.agents.list()) {
        revokeRunCredentials(this.ctx, agent.id, 'town deleted', now);
        if (agent.status !== 'stopped') repos.agents.setStatus(agent.id, 'stopped', now);
      }
      return this.rows.sessionObjectKeys();
    });
    for (const rig of repos.rigs.list()) this.ctx.gitTokens.invalidate(rig.id);
    logger.info({ msg: 'town deleted', townId, containerWasRunning: wasRunning, sessions: sessionObjectKeys.length });
    return { containerWasRunning: wasRunning, sessionObjectKeys };
  }
}
