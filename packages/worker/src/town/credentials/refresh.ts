import { CredentialError, type AgentCredentials } from '@gastown/protocol';
import type { PresentedRefreshCredential } from '../../auth';
import type { TownContext } from '../services/context';
import { agentSubject, mintTtlSeconds, tokenMetadata } from './subject';

/** What a refresh came to: new credentials, or the refusal (a CredentialError) to answer with. */
export type RefreshOutcome = { kind: 'refreshed'; credentials: AgentCredentials; replay: boolean } | { kind: 'refused'; error: CredentialError };

export interface RefreshResult {
  /** The agent the presented credential was issued to; null when it is not known here (or malformed). */
  agentId: string | null;
  outcome: RefreshOutcome;
}

/**
 * `POST /agent/towns/:townId/refresh`: rotate a refresh credential and record the new token's
 * metadata on the agent row. A refusal is returned, not thrown, together with the agent it concerns:
 * after `refresh_reused` (the family is now revoked) the caller restarts that agent's run, or the
 * legitimate run would be left with a dead refresh credential. Unexpected errors throw.
 */
export async function refreshAgentCredentials(ctx: TownContext, presented: string): Promise<RefreshResult> {
  const { repos, credentials, clock } = ctx;
  let located: PresentedRefreshCredential;
  try {
    located = await credentials.locate(presented);
  } catch (err) {
    return refused(null, err);
  }
  const { agentId } = located;
  // no await between this lookup and refresh(): it decides on the agent as it is now
  const agent = agentId === null ? null : repos.agents.get(agentId);
  const subject = agent ? agentSubject(ctx, agent) : null;
  // while a reissue hands the agent its new generation, the previous one's family still rotates
  const handedOverGen = agentId === null ? undefined : ctx.reissuing.get(agentId);
  if (subject && handedOverGen !== undefined && located.familyGen === handedOverGen) subject.gen = handedOverGen;
  let rotated;
  try {
    rotated = await credentials.refresh(located, subject, mintTtlSeconds(ctx));
  } catch (err) {
    return refused(agentId, err);
  }
  const c = rotated.credentials;
  const now = clock.now();
  ctx.transaction(() => {
    if (rotated.replay) {
      ctx.event({ type: 'credential.refresh_replayed', agentId: rotated.agentId, data: { gen: c.gen } });
      return;
    }
    // the row keeps the metadata of its current generation's token (not of one being handed over)
    if (repos.agents.get(rotated.agentId)?.gen === c.gen) repos.agents.recordRefreshed(rotated.agentId, tokenMetadata(rotated.jti, c), now);
    ctx.event({ type: 'credential.refreshed', agentId: rotated.agentId, data: { gen: c.gen, expiresAt: c.accessTokenExpiresAt } });
  });
  return { agentId: rotated.agentId, outcome: { kind: 'refreshed', credentials: c, replay: rotated.replay } };
}

/** A credential refusal becomes the outcome; anything else is not a refusal and propagates. */
function refused(agentId: string | null, err: unknown): RefreshResult {
  if (!(err instanceof CredentialError)) throw err;
  return { agentId, outcome: { kind: 'refused', error: err } };
}
