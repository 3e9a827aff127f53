import { GastownError, type Town } from '@gastown/protocol';
import type { AgentSubject } from '../../auth';
import type { AgentRecord, TokenMetadata } from '../repositories/agent-repository';
import type { TownContext } from '../services/context';
import { effectiveTokenTtlSeconds } from '../services/town-service';

function townOf(ctx: TownContext): Town {
  const town = ctx.repos.town.get();
  if (!town) throw new GastownError('not_found', 'town not found');
  return town;
}

/** The agent row, or not_found. */
export function agentRecord(ctx: TownContext, agentId: string): AgentRecord {
  const agent = ctx.repos.agents.get(agentId);
  if (!agent) throw new GastownError('not_found', 'agent not found');
  return agent;
}

/** The token subject of an agent as it is now: its current gen, the town owner as userId. */
export function agentSubject(ctx: TownContext, agent: AgentRecord): AgentSubject {
  return { id: agent.id, townId: ctx.townId, rigId: agent.rigId, userId: townOf(ctx).ownerId, role: agent.role, gen: agent.gen };
}

/** TTL of every token minted for this town: its setting, never above the deployment's policy. */
export function mintTtlSeconds(ctx: TownContext): number {
  return effectiveTokenTtlSeconds(townOf(ctx).config, ctx.auth.policy);
}

/** What the agent row keeps of a token (no secret). */
export function tokenMetadata(jti: string, token: { accessTokenIssuedAt: number; accessTokenExpiresAt: number }): TokenMetadata {
  return { jti, issuedAt: token.accessTokenIssuedAt, expiresAt: token.accessTokenExpiresAt };
}
