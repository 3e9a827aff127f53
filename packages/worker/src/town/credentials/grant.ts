import type { AccessTokenGrant, PushCredentialsRequest } from '@gastown/protocol';
import type { ContainerDelivery } from '../container-client';
import type { AgentRecord } from '../repositories/agent-repository';
import type { TownContext } from '../services/context';
import { agentSubject, mintTtlSeconds, tokenMetadata } from './subject';

/**
 * What a running agent is granted:
 * - `access_token`: a fresh access token in its current family (warm send, alarm backstop);
 * - `new_family`: a new credential family, access token and refresh credential (reissue) — the
 *   agent's previous families are revoked the moment it is minted.
 */
export type GrantScope = 'access_token' | 'new_family';

/** How the grant reaches the agent: with a message (the broker swaps it in before the prompt), or pushed alone. */
export type GrantRoute = { kind: 'message'; text: string } | { kind: 'push' };

interface GrantBase {
  /** The generation the grant is for (the agent's current one). */
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
 * The one way credentials reach a running agent (warm send, alarm backstop, reissue): mint, strip
 * the jti (it stays on the row, never on the wire), send through the container, record.
 *
 * Recording: a new family is on the row at once (its predecessors are already revoked, whatever
 * the container says); a fresh access token only once it was delivered — only then does the agent
 * hold it, and the backstop's 75 % clock restarts from it.
 */
export async function grantToRunningAgent(ctx: TownContext, agent: AgentRecord, scope: GrantScope, route: GrantRoute): Promise<GrantResult> {
  const subject = agentSubject(ctx, agent);
  const ttlSeconds = mintTtlSeconds(ctx);
  let jti: string;
  let grant: AccessTokenGrant;
  let refresh: PushCredentialsRequest['refresh'] = null;
  if (scope === 'new_family') {
    const issued = await ctx.credentials.issue(subject, ttlSeconds);
    const c = issued.credentials;
    jti = issued.jti;
    grant = { accessToken: c.accessToken, accessTokenExpiresAt: c.accessTokenExpiresAt, accessTokenIssuedAt: c.accessTokenIssuedAt, gen: c.gen };
    refresh = { refreshCredential: c.refreshCredential, refreshCredentialExpiresAt: c.refreshCredentialExpiresAt };
    ctx.repos.agents.recordIssued(agent.id, tokenMetadata(jti, c), ctx.clock.now());
  } else {
    const { jti: mintedJti, ...wireGrant } = await ctx.credentials.mintAccess(subject, ttlSeconds);
    jti = mintedJti;
    grant = wireGrant;
  }
  const base: GrantBase = { gen: grant.gen, accessTokenExpiresAt: grant.accessTokenExpiresAt };
  let delivery: ContainerDelivery;
  try {
    delivery =
      route.kind === 'message'
        ? await ctx.container.deliver(agent.id, { text: route.text, grant })
        : await ctx.container.push(agent.id, { grant, refresh });
  } catch (error) {
    return { ...base, ok: false, error };
  }
  if (scope === 'access_token' && delivery === 'delivered') {
    ctx.repos.agents.recordAccessMinted(agent.id, tokenMetadata(jti, grant), ctx.clock.now());
  }
  return { ...base, ok: true, delivery };
}
