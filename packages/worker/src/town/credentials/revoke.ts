import type { TownContext } from '../services/context';

/**
 * End a run's credentials: gen + 1 (every token the run holds dies on its next use with
 * token_revoked) and every credential family of the agent revoked (its refresh credentials with
 * it). Synchronous: call it inside the caller's transaction. Returns the new generation.
 * Used on stop, on a lost run and on a failed start.
 */
export function revokeRunCredentials(ctx: TownContext, agentId: string, reason: string, now: number): number {
  const gen = ctx.repos.agents.bumpGen(agentId, now);
  ctx.credentials.revokeAgent(agentId, reason);
  return gen;
}
