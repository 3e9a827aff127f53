import { GastownError } from '@gastown/protocol';
import type { AgentRecord } from '../repositories/agent-repository';
import type { TownContext } from '../services/context';
import { handToRunningAgent, type GrantResult } from './grant';
import { agentRecord, agentSubject, mintTtlSeconds, tokenMetadata } from './subject';

export interface ReissueHooks {
  /**
   * Runs inside the transaction that moves the agent to its new generation: what was handed to the
   * run under its previous generation follows it (a refinery's merge requests).
   */
  onNewGeneration?: (previousGen: number, gen: number) => void;
}

/**
 * Reissue: a new credential family at a new generation (gen + 1), handed to the running agent
 * BEFORE its old credentials die, so none of its calls fails in between:
 * 1. mint the family at gen + 1, the previous families still valid — refused (conflict, nothing
 *    stored) when the agent was stopped or moved to another generation while it was minted;
 * 2. the agent row moves to gen + 1, and the previous generation is being handed over: its tokens
 *    and refresh credentials are still accepted (ctx.reissuing);
 * 3. the access token and the refresh credential go to the container (the broker takes a grant of
 *    a higher generation at once);
 * 4. whatever the container said, the hand-over ends and the previous generation's families are
 *    revoked: its access tokens get 401 token_revoked from now on, its refresh credentials too.
 * A container that could not be told is `ok: false` (the caller answers 502/503); the old
 * credentials die all the same — a reissue is asked for because they may be compromised.
 */
export async function reissueToRunningAgent(ctx: TownContext, agent: AgentRecord, hooks: ReissueHooks = {}): Promise<GrantResult> {
  if (ctx.reissuing.has(agent.id)) throw new GastownError('conflict', 'a reissue of this agent is already under way');
  if (ctx.inFlight.has(agent.id)) throw new GastownError('conflict', 'the agent is being started; reissue its credentials once it runs');
  const previousGen = agent.gen;
  const gen = previousGen + 1;
  const issued = await ctx.credentials.issue({ ...agentSubject(ctx, agent), gen }, mintTtlSeconds(ctx), {
    previousFamilies: 'keep',
    precondition: () => {
      const current = agentRecord(ctx, agent.id);
      if (current.gen !== previousGen || current.status === 'stopped') {
        throw new GastownError('conflict', 'the agent was stopped or restarted while its credentials were reissued; nothing was handed over');
      }
      if (ctx.reissuing.has(agent.id)) throw new GastownError('conflict', 'a reissue of this agent is already under way');
    },
  });
  // no await since the precondition held: the row is still at previousGen
  const c = issued.credentials;
  const now = ctx.clock.now();
  ctx.transaction(() => {
    ctx.repos.agents.bumpGen(agent.id, now);
    ctx.repos.agents.recordIssued(agent.id, tokenMetadata(issued.jti, c), now);
    hooks.onNewGeneration?.(previousGen, gen);
  });
  ctx.reissuing.set(agent.id, previousGen);
  const base = { gen, accessTokenExpiresAt: c.accessTokenExpiresAt };
  try {
    const handed = await handToRunningAgent(
      ctx,
      agent.id,
      {
        grant: { accessToken: c.accessToken, accessTokenExpiresAt: c.accessTokenExpiresAt, accessTokenIssuedAt: c.accessTokenIssuedAt, gen: c.gen },
        refresh: { refreshCredential: c.refreshCredential, refreshCredentialExpiresAt: c.refreshCredentialExpiresAt },
      },
      { kind: 'push' },
    );
    return { ...base, ...handed };
  } finally {
    if (ctx.reissuing.get(agent.id) === previousGen) ctx.reissuing.delete(agent.id);
    ctx.credentials.revokeAgent(agent.id, 'reissued', { belowGen: gen });
  }
}
