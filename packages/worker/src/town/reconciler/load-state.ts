import type { Bead } from '@gastown/protocol';
import { rigPolecatLimits } from '../agent-settings-rules';
import { DRAINED_BY_KEY } from '../bead-rules';
import { livenessFlushMs, reconcilerHeardAt } from '../liveness-memory';
import { pullRequestDueAt, pullRequestStage } from '../pull-request-rules';
import { reviewAttemptsOf } from '../services/review-service';
import type { TownContext } from '../services/context';
import type { AgentRecord } from '../repositories/agent-repository';
import { cappedAt, nextSpendPeriodStart, PAUSE_RETRY_AT_KEY, PAUSED_BY_KEY, PAUSED_GEN_KEY, SPEND_CAP_PAUSE } from '../spend-rules';
import type { ReconcileAgent, ReconcileBead, ReconcileState } from './types';

/**
 * Plain reconciler input from the town's SQL state (a few indexed queries). Only the agents the
 * reconciler can act on or look up are read (`AgentRepository.listForReconcile`: live ones,
 * refineries not stopped, and those named by active beads, busy or holding live credentials), so
 * an old town's finished rows cost nothing per tick; the decisions are those over every row.
 * Heartbeat times come with the TownDO's memory and its restart rule (liveness-memory.ts).
 */
export function loadReconcileState(ctx: TownContext): ReconcileState {
  const town = ctx.repos.town.get();
  const credentialsLive = ctx.credentials.agentsWithLiveFamilies();
  // capped at the current time: a new period is uncapped without anything having to happen first
  const now = ctx.clock.now();
  const cap = town?.config.spendCap ?? null;
  const spendCapped = cappedAt(cap, ctx.repos.townState.get('spendCappedPeriodStart'), now);
  const waiting = ctx.repos.beads.waitingOnDependencies();
  const beads = ctx.repos.beads.listActiveWork().map((b) => ({ ...toReconcileBead(b, ctx.settings.prPollMs), waitingOn: waiting.get(b.id) ?? 0 }));
  const named = new Set<string>([...credentialsLive, ...ctx.inFlight]);
  for (const b of beads) {
    if (b.assigneeId !== null) named.add(b.assigneeId);
    if (b.polecatId !== null) named.add(b.polecatId);
  }
  const flushMs = livenessFlushMs(ctx.settings);
  const startedAt = ctx.liveness.startedAt;
  return {
    agents: ctx.repos.agents.listForReconcile(named).map((a) => {
      const agent = toReconcileAgent(a, ctx.inFlight.has(a.id), credentialsLive.has(a.id));
      return { ...agent, lastHeartbeatAt: reconcilerHeardAt(a.lastHeartbeatAt, a.storedHeartbeatAt ?? a.lastHeartbeatAt, a.dispatchedAt, startedAt, flushMs) };
    }),
    beads,
    providerConfigured: town?.config.provider != null,
    latestInstanceId: ctx.repos.townState.latestInstance()?.instanceId ?? null,
    spendCapped,
    spendCapResetAt: spendCapped && cap ? nextSpendPeriodStart(cap.period, now) : null,
    containerStoppedAt: numberOrNull(ctx.repos.townState.get('containerStoppedAt')),
    ...(town?.config.maxPolecats != null ? { maxPolecats: town.config.maxPolecats } : {}),
    rigMaxPolecats: rigPolecatLimits(ctx.repos.rigs.list()),
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
    priority: b.priority,
  };
}

function numberOrNull(value: string | null): number | null {
  const n = value === null ? NaN : Number(value);
  return Number.isFinite(n) ? n : null;
}
