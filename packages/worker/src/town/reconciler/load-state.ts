import type { Bead } from '@gastown/protocol';
import { DRAINED_BY_KEY } from '../bead-rules';
import { pullRequestDueAt, pullRequestStage } from '../pull-request-rules';
import { reviewAttemptsOf } from '../services/review-service';
import type { TownContext } from '../services/context';
import type { AgentRecord } from '../repositories/agent-repository';
import { cappedAt, nextSpendPeriodStart, PAUSE_RETRY_AT_KEY, PAUSED_BY_KEY, PAUSED_GEN_KEY, SPEND_CAP_PAUSE } from '../spend-rules';
import type { ReconcileAgent, ReconcileBead, ReconcileState } from './types';

/** Plain reconciler input from the town's SQL state (a few indexed queries). */
export function loadReconcileState(ctx: TownContext): ReconcileState {
  const town = ctx.repos.town.get();
  const credentialsLive = ctx.credentials.agentsWithLiveFamilies();
  // capped at the current time: a new period is uncapped without anything having to happen first
  const now = ctx.clock.now();
  const cap = town?.config.spendCap ?? null;
  const spendCapped = cappedAt(cap, ctx.repos.townState.get('spendCappedPeriodStart'), now);
  return {
    agents: ctx.repos.agents.list().map((a) => toReconcileAgent(a, ctx.inFlight.has(a.id), credentialsLive.has(a.id))),
    beads: ctx.repos.beads.listActiveWork().map((b) => toReconcileBead(b, ctx.settings.prPollMs)),
    providerConfigured: town?.config.provider != null,
    latestInstanceId: ctx.repos.townState.latestInstance()?.instanceId ?? null,
    spendCapped,
    spendCapResetAt: spendCapped && cap ? nextSpendPeriodStart(cap.period, now) : null,
  };
}

export function toReconcileAgent(a: AgentRecord, busy: boolean, credentialsLive = false): ReconcileAgent {
  return {
    id: a.id,
    role: a.role,
    rigId: a.rigId,
    status: a.status,
    gen: a.gen,
    beadId: a.beadId,
    updatedAt: a.updatedAt,
    dispatchedAt: a.dispatchedAt,
    lastHeartbeatAt: a.lastHeartbeatAt,
    containerInstanceId: a.containerInstanceId,
    tokenIssuedAt: a.tokenIssuedAt,
    tokenExpiresAt: a.tokenExpiresAt,
    lastRefreshAt: a.lastRefreshAt,
    busy,
    credentialsLive,
  };
}

export function toReconcileBead(b: Bead, prPollMs = 60_000): ReconcileBead {
  const m = b.metadata;
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    id: b.id,
    type: b.type,
    status: b.status,
    rigId: b.rigId,
    assigneeId: b.assigneeId,
    attempts: b.attempts,
    createdAt: b.createdAt,
    retryAt: b.type === 'merge_request' ? num(m.reviewRetryAt) : num(m.retryAt),
    reviewGen: num(m.reviewGen),
    reviewAttempts: b.type === 'merge_request' ? reviewAttemptsOf(b) : 0,
    polecatId: typeof m.polecatId === 'string' ? m.polecatId : null,
    drainedBy: b.type === 'issue' && typeof m[DRAINED_BY_KEY] === 'string' ? m[DRAINED_BY_KEY] : null,
    pullRequestStage: pullRequestStage(b),
    pullRequestDueAt: pullRequestDueAt(b, prPollMs),
    pausedGen: b.type === 'issue' && m[PAUSED_BY_KEY] === SPEND_CAP_PAUSE ? num(m[PAUSED_GEN_KEY]) : null,
    pauseRetryAt: b.type === 'issue' ? num(m[PAUSE_RETRY_AT_KEY]) : null,
  };
}
