import { type MayorSessionResetResponse, type SessionSnapshotRecord } from '@gastown/protocol';
import { assertRole } from '../agent-authorization';
import type { AgentRecord } from '../repositories/agent-repository';
import type { StoredSession } from '../repositories/session-repository';
import type { AgentService } from './agent-service';
import type { TownContext } from './context';

/** The roles whose session the control plane keeps (the agent API's session routes). */
export const SESSION_ROLES: readonly AgentRecord['role'][] = ['mayor'];

const LIVE = new Set(['starting', 'working', 'waiting']);

/** What a reset of the mayor's session did, and the object the caller deletes from R2. */
export interface MayorSessionReset extends MayorSessionResetResponse {
  /** The R2 object of the forgotten snapshot (null: none was stored). */
  objectKey: string | null;
}

/**
 * Durable agent sessions, the TownDO's half: which R2 object holds an agent's newest snapshot and
 * what was recorded about it. The content never passes through here: the worker's routes move the
 * bytes (routes/agent-session.ts). One snapshot per agent: storing one returns the object key it
 * replaced, for the caller to delete.
 */
export class SessionService {
  constructor(
    private readonly ctx: TownContext,
    private readonly agents: AgentService,
  ) {}

  /** Record the agent's newest snapshot (the object is already in R2); returns the key of the one it replaces. */
  store(agent: AgentRecord, objectKey: string, record: SessionSnapshotRecord): { previousKey: string | null } {
    assertRole('session', SESSION_ROLES, agent.role);
    return { previousKey: this.ctx.repos.sessions.put(agent.id, { objectKey, record }) };
  }

  /** The agent's stored snapshot, or null. */
  load(agent: AgentRecord): StoredSession | null {
    assertRole('session', SESSION_ROLES, agent.role);
    return this.ctx.repos.sessions.get(agent.id);
  }

  /** The stored snapshot failed its check on the way out (missing object, checksum): a town event. It is never restored. */
  corrupt(agent: AgentRecord, reason: string): void {
    assertRole('session', SESSION_ROLES, agent.role);
    this.ctx.logger.warn({ msg: 'stored session snapshot is corrupt', townId: this.ctx.townId, agentId: agent.id, reason });
    this.ctx.event({ type: 'session.snapshot_corrupt', agentId: agent.id, data: { agentId: agent.id, reason: reason.slice(0, 200) } });
  }

  /**
   * Forget the mayor's conversation: a running mayor is stopped first, as the user's stop does —
   * the container is told while the run's tokens are still good, so a final save it makes while
   * stopping lands before the record is deleted; one arriving later is refused (token_revoked) —
   * then the record goes. The next message starts the mayor with a fresh session.
   */
  async resetMayor(): Promise<MayorSessionReset> {
    const { ctx } = this;
    const mayor = ctx.repos.agents.mayor();
    if (!mayor) return { deleted: false, stopped: false, objectKey: null };
    const stopped = LIVE.has(mayor.status);
    if (stopped) await this.agents.stop(mayor.id, 'session reset by user');
    const objectKey = ctx.transaction(() => {
      const key = ctx.repos.sessions.delete(mayor.id);
      ctx.event({ type: 'mayor.session_reset', agentId: mayor.id, data: { deleted: key !== null, stopped } });
      return key;
    });
    return { deleted: objectKey !== null, stopped, objectKey };
  }
}
