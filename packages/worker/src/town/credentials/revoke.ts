import type { TownContext } from '../services/context';

/**
 * End a run's credentials: gen + 1 (every token the run holds dies on its next use with
 * token_revoked) and every credential family of the agent revoked (its refresh credentials with
 * it). Synchronous: call it inside the caller's transaction. Returns the new generation.
 * Used when a run ends: its completion report (after it was accepted), a stop, a lost run (missed
 * heartbeats, a new container instance), a failed start, and a run that ended without a report.
 */
export function revokeRunCredentials(ctx: TownContext, agentId: string, reason: string, now: number): number {
  const gen = ctx.repos.agents.bumpGen(agentId, now);
  ctx.credentials.revokeAgent(agentId, reason);
  return gen;
}
