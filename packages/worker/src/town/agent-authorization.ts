import { CredentialError, GastownError, TOOLS, type AgentClaims, type ToolName } from '@gastown/protocol';
import type { AgentRecord } from './repositories/agent-repository';

/**
 * The TownDO's half of agent authentication (the worker already verified signature, claims,
 * expiry and that the route names the token's town and agent). Pure: throws or returns.
 * A token is revoked when the agent is gone, stopped, or on another generation or role.
 * `handedOverGen`: while a reissue hands the agent its new generation, the one before it is still
 * accepted (null: no hand-over under way).
 */
export function assertTokenCurrent(claims: AgentClaims, townId: string, agent: AgentRecord | null, handedOverGen: number | null = null): AgentRecord {
  if (claims.townId !== townId) throw new CredentialError('token_scope', 'token was issued for another town');
  if (!agent) throw new CredentialError('token_revoked', 'the agent of this token no longer exists');
  if (agent.status === 'stopped') throw new CredentialError('token_revoked', 'the agent of this token was stopped');
  if (agent.gen !== claims.gen && claims.gen !== handedOverGen)
    throw new CredentialError('token_revoked', 'token belongs to an earlier generation of this agent');
  if (agent.role !== claims.role || agent.rigId !== claims.rigId) throw new CredentialError('token_revoked', 'token does not match the agent');
  return agent;
}

/**
 * A batch of nothing but `model.usage` events: the cost of model calls already made. It is taken
 * from any generation of the agent up to the current one, stopped agents included: a run declared
 * lost (missed heartbeats during an outage) or stopped while its events waited in the container
 * still spent that money, and the event ids keep a resend from counting twice. Everything else
 * about the token still holds (the worker verified signature and expiry; town, role and rig here).
 */
export function assertMayReportUsage(claims: AgentClaims, townId: string, agent: AgentRecord | null): AgentRecord {
  if (claims.townId !== townId) throw new CredentialError('token_scope', 'token was issued for another town');
  if (!agent) throw new CredentialError('token_revoked', 'the agent of this token no longer exists');
  if (claims.gen > agent.gen) throw new CredentialError('token_revoked', 'token is of an unknown generation of this agent');
  if (agent.role !== claims.role || agent.rigId !== claims.rigId) throw new CredentialError('token_revoked', 'token does not match the agent');
  return agent;
}

/** Role limits of the tool table. */
export function assertToolAllowed(tool: ToolName, role: AgentRecord['role']): void {
  const roles: readonly string[] = TOOLS[tool].roles;
  if (!roles.includes(role)) throw new GastownError('role_forbidden', `a ${role} may not call ${tool}`);
}

/** Lifecycle routes limited to one role (merge callbacks come from a refinery's credentials). */
export function assertRole(route: string, allowed: readonly AgentRecord['role'][], role: AgentRecord['role']): void {
  if (!allowed.includes(role)) throw new GastownError('role_forbidden', `a ${role} may not call ${route}`);
}
