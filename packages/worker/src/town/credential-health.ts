import type { Agent, CredentialHealth, SessionSnapshotSummary } from '@gastown/protocol';
import type { AgentRecord } from './repositories/agent-repository';

/** A token that has used more than this fraction of its life without a refresh is `expiring`. */
export const EXPIRING_LIFE_FRACTION = 0.75;

/**
 * The control plane's view of an agent's credentials, from its row and the time. Pure.
 * Precedence: revoked (stopped, or its run ended) > none (never issued) > expired > degraded
 * (broker reports failing refreshes) > expiring (> 75 % of life used) > healthy.
 * A run that ended (exited, failed) holds no usable credentials: they were revoked when it
 * reported its end or was declared lost, or are one heartbeat interval after an unreported end
 * (reconcile.ts endedRunRevokeAt). Its token's times stay in the view, for the record.
 */
export function computeCredentialHealth(agent: AgentRecord, now: number): CredentialHealth {
  const base = {
    gen: agent.gen,
    tokenIssuedAt: agent.tokenIssuedAt,
    tokenExpiresAt: agent.tokenExpiresAt,
    lastRefreshAt: agent.lastRefreshAt,
    refreshCount: agent.refreshCount,
    reported: agent.credentialReported,
    reportedAt: agent.credentialReportedAt,
  };
  return { ...base, state: credentialState(agent, now) };
}

function credentialState(agent: AgentRecord, now: number): CredentialHealth['state'] {
  if (agent.status === 'stopped' || agent.status === 'exited' || agent.status === 'failed') return 'revoked';
  if (agent.tokenIssuedAt === null || agent.tokenExpiresAt === null) return 'none';
  if (now >= agent.tokenExpiresAt) return 'expired';
  const reported = agent.credentialReported;
  if (reported && (reported.consecutiveFailures > 0 || reported.state === 'degraded')) return 'degraded';
  const lifeMs = agent.tokenExpiresAt - agent.tokenIssuedAt;
  const usedMs = now - agent.tokenIssuedAt;
  if (lifeMs <= 0 || usedMs > lifeMs * EXPIRING_LIFE_FRACTION) return 'expiring';
  return 'healthy';
}

/** The wire view of an agent row, with the summary of its stored session (null: none). */
export function toAgent(agent: AgentRecord, townId: string, now: number, session: SessionSnapshotSummary | null): Agent {
  return {
    id: agent.id,
    townId,
    rigId: agent.rigId,
    role: agent.role,
    name: agent.name,
    status: agent.status,
    beadId: agent.beadId,
    statusLine: agent.statusLine,
    lastHeartbeatAt: agent.lastHeartbeatAt,
    containerInstanceId: agent.containerInstanceId,
    createdAt: agent.createdAt,
    credential: computeCredentialHealth(agent, now),
    isolation: agent.isolation,
    session,
  };
}
