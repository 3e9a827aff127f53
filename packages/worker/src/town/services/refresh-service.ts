import { CredentialError, type AgentCredentials } from '@gastown/protocol';
import type { AgentSubject } from '../../auth';
import type { AgentService } from './agent-service';
import type { TownContext } from './context';
import type { TownService } from './town-service';

/** `POST /agent/towns/:townId/refresh`: rotate a refresh credential and record the new token's metadata. */
export class RefreshService {
  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
    private readonly agents: AgentService,
  ) {}

  /**
   * `onReuse`: called with the agent's id when the presented credential was already used past the
   * grace window (its family is now revoked): the legitimate run must get a new generation, or it
   * would be left with a dead refresh credential. The refusal is rethrown afterwards.
   */
  async refresh(presented: string, onReuse?: (agentId: string) => Promise<void>): Promise<AgentCredentials> {
    const { repos, credentials, clock } = this.ctx;
    let agentId: string | null = null;
    const currentSubject = (id: string): AgentSubject | null => {
      agentId = id;
      const agent = repos.agents.get(id);
      return agent ? this.agents.subject(agent) : null;
    };
    let outcome;
    try {
      outcome = await credentials.refresh(presented, currentSubject, () => this.town.tokenTtlSeconds());
    } catch (err) {
      const reusedBy: string | null = agentId;
      if (err instanceof CredentialError && err.code === 'refresh_reused' && reusedBy !== null && onReuse) await onReuse(reusedBy);
      throw err;
    }
    const c = outcome.credentials;
    if (agentId === null) return c;
    const id: string = agentId;
    const now = clock.now();
    this.ctx.transaction(() => {
      if (outcome.replay) {
        this.ctx.event({ type: 'credential.refresh_replayed', agentId: id, data: { gen: c.gen } });
        return;
      }
      repos.agents.recordRefreshed(id, { jti: outcome.jti, issuedAt: c.accessTokenIssuedAt, expiresAt: c.accessTokenExpiresAt }, now);
      this.ctx.event({ type: 'credential.refreshed', agentId: id, data: { gen: c.gen, expiresAt: c.accessTokenExpiresAt } });
    });
    return c;
  }
}
