import type { PushCredentialsRequest } from '@gastown/protocol';
import type { ContainerDelivery } from '../container-client';
import type { AgentRecord } from '../repositories/agent-repository';
import type { TownContext } from '../services/context';
import { agentSubject, mintTtlSeconds, tokenMetadata } from './subject';

/** How the grant reaches the agent: with a message (the broker swaps it in before the prompt), or pushed alone. */
export type GrantRoute = { kind: 'message'; text: string } | { kind: 'push' };

interface GrantBase {
  /** The generation the grant is for. */
  gen: number;
  accessTokenExpiresAt: number;
}

/**
 * The outcome. A container that could not be told (it threw) is data here, not a throw: only the
 * caller knows what that failure means to it (a failed warm send, a failed backstop push, a
 * reissue that must answer 502/503). Minting failures do throw.
 */
export type GrantResult = (GrantBase & { ok: true; delivery: ContainerDelivery }) | (GrantBase & { ok: false; error: unknown });

/**
 * A fresh access token in the agent's current family and generation, to a running agent (warm
 * send, alarm backstop): mint, strip the jti (it stays on the row, never on the wire), send through
 * the container, record once delivered — only then does the agent hold it, and the backstop's 75 %
 * clock restarts from it. A new family and generation is a reissue (./reissue.ts).
 */
export async function grantToRunningAgent(ctx: TownContext, agent: AgentRecord, route: GrantRoute): Promise<GrantResult> {
  const { jti, ...grant } = await ctx.credentials.mintAccess(agentSubject(ctx, agent), mintTtlSeconds(ctx));
  const result = await handToRunningAgent(ctx, agent.id, { grant, refresh: null }, route);
  if (result.ok && result.delivery === 'delivered') ctx.repos.agents.recordAccessMinted(agent.id, tokenMetadata(jti, grant), ctx.clock.now());
  return { gen: grant.gen, accessTokenExpiresAt: grant.accessTokenExpiresAt, ...result };
}

/**
 * The one place credentials reach a running agent, for every caller (warm send, backstop, reissue):
 * with a message (the broker swaps them in before the prompt) or pushed alone. A container that
 * threw is data (`ok: false`), not a throw.
 */
export async function handToRunningAgent(
  ctx: TownContext,
  agentId: string,
  credentials: PushCredentialsRequest,
  route: GrantRoute,
): Promise<{ ok: true; delivery: ContainerDelivery } | { ok: false; error: unknown }> {
  try {
    const delivery =
      route.kind === 'message' && credentials.refresh === null
        ? await ctx.container.deliver(agentId, { text: route.text, grant: credentials.grant })
        : await ctx.container.push(agentId, credentials);
    return { ok: true, delivery };
  } catch (error) {
    return { ok: false, error };
  }
}
