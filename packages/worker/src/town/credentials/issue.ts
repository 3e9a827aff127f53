import type { AgentCredentials } from '@gastown/protocol';
import type { TownContext } from '../services/context';
import { agentRecord, agentSubject, mintTtlSeconds, tokenMetadata } from './subject';

export interface IssueOptions {
  /**
   * The caller already moved the agent to its new generation (a lost run: its old tokens were
   * revoked on detection), so the run starts at that generation instead of skipping one.
   */
  generationBumped?: boolean;
}

/**
 * Credentials for a (re)dispatch, one generation per run: gen + 1, a new credential family (the
 * previous families revoked), token metadata on the row, status `starting`. The secrets go to the
 * container's start request only.
 */
export async function issueAtDispatch(ctx: TownContext, agentId: string, options: IssueOptions = {}): Promise<{ gen: number; credentials: AgentCredentials }> {
  const { repos, clock, credentials } = ctx;
  const current = agentRecord(ctx, agentId);
  const gen = options.generationBumped ? current.gen : repos.agents.bumpGen(agentId, clock.now());
  const subject = { ...agentSubject(ctx, agentRecord(ctx, agentId)), gen };
  const issued = await credentials.issue(subject, mintTtlSeconds(ctx));
  const now = clock.now();
  ctx.transaction(() => {
    repos.agents.recordIssued(agentId, tokenMetadata(issued.jti, issued.credentials), now);
    repos.agents.setStatus(agentId, 'starting', now);
    repos.agents.markDispatched(agentId, now);
    ctx.event({ type: 'credential.issued', agentId, data: { gen, reason: 'dispatch', expiresAt: issued.credentials.accessTokenExpiresAt } });
  });
  return { gen, credentials: issued.credentials };
}
