import {
  GastownError,
  MODEL_USAGE_EVENT,
  SETUP_EVENTS,
  type AgentEvent,
  type AgentStatus,
  type BeadStatus,
  type CompletionRequest,
  type EventBatchRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from '@gastown/protocol';
import { backoffMs, beadAfterCompletion, DRAINED_BY_KEY } from '../bead-rules';
import { revokeRunCredentials } from '../credentials';
import { livenessFlushMs } from '../liveness-memory';
import type { AgentRecord } from '../repositories/agent-repository';
import { PAUSED_BY_KEY, PAUSED_GEN_KEY, SPEND_CAP_PAUSE } from '../spend-rules';
import type { TownContext } from './context';
import type { SpendCapService } from './spend-cap-service';
import type { UsageService } from './usage-service';
import type { WorkService } from './work-service';

/** Agent event types that are also town events (their data is already size-bounded by the container). */
export const TOWN_VISIBLE_AGENT_EVENTS: ReadonlySet<string> = new Set([
  'agent.text',
  'agent.tool',
  'agent.error',
  'session.busy',
  'session.idle',
  'credential.refreshed',
  'credential.state_changed',
  'credential.expired',
  // durable sessions (the mayor's conversation): restored on start, or not, and saves that failed
  'session.restored',
  'session.restore_failed',
  'session.save_failed',
  // drain on SIGTERM: the container said it is going, and a polecat's uncommitted work was (or was not) committed
  'container.draining',
  'agent.work_saved',
  // a private rig's git token: none usable past expiry (one per outage), and usable again
  'git.credentials_expired',
  'git.credentials_recovered',
  // a polecat's rig setup command: its (redacted) output, and its failure — recorded on the polecat's bead
  SETUP_EVENTS.output,
  SETUP_EVENTS.failed,
]);

/** Agent events that belong to the agent's bead as well (town events with its beadId). */
const BEAD_AGENT_EVENTS: ReadonlySet<string> = new Set([SETUP_EVENTS.output, SETUP_EVENTS.failed]);

/** The container's one-per-outage event: a private rig's git token expired and could not be replaced. */
export const GIT_CREDENTIALS_EXPIRED_EVENT = 'git.credentials_expired';

/** The container's one-per-outage event: the agent's access token expired and could not be replaced. */
export const CREDENTIAL_EXPIRED_EVENT = 'credential.expired';

/** Control-plane status from what the container reports. */
export function statusFromHeartbeat(hb: Pick<HeartbeatRequest, 'runtimeState' | 'activity'>): AgentStatus {
  switch (hb.runtimeState) {
    case 'exited':
      return 'exited';
    case 'failed':
      return 'failed';
    case 'starting':
      return 'starting';
    default:
      return hb.activity;
  }
}

/** Heartbeats, agent event batches and completion reports. */
export class LifecycleService {
  constructor(
    private readonly ctx: TownContext,
    private readonly work: WorkService,
    private readonly usage: UsageService,
    private readonly spendCap: SpendCapService,
  ) {}

  heartbeat(agent: AgentRecord, hb: HeartbeatRequest): HeartbeatResponse {
    return this.beat(agent, hb).answer;
  }

  /**
   * A heartbeat. One that changes nothing but times (`storageUnchanged`) is held in the TownDO's
   * memory (liveness-memory.ts: `remembered`, no SQLite write, no event); any other is stored, with
   * its events, as always. `reconcileUnchanged`: nothing the reconciler reads changed but this
   * agent's heartbeat time, which only moves its liveness deadline later — the alarm already armed
   * stays early enough, so the caller need not re-arm from the whole town.
   */
  beat(agent: AgentRecord, hb: HeartbeatRequest): { answer: HeartbeatResponse; remembered: boolean; reconcileUnchanged: boolean } {
    const { repos, clock } = this.ctx;
    const now = clock.now();
    const status = statusFromHeartbeat(hb);
    const answer: HeartbeatResponse = { ok: true, gen: agent.gen, serverTime: now };
    const reconcileUnchanged = this.reconcileUnchanged(agent, hb, status);
    if (reconcileUnchanged && this.storageUnchanged(agent, hb, now)) {
      this.ctx.liveness.hear(agent.id, now, hb.containerInstanceId);
      return { answer, remembered: true, reconcileUnchanged };
    }
    this.ctx.transaction(() => {
      repos.agents.recordHeartbeat(agent.id, {
        at: now,
        containerInstanceId: hb.containerInstanceId,
        runtimeState: hb.runtimeState,
        sessionId: hb.sessionId,
        status,
        credential: hb.credential,
        ...(hb.isolation ? { isolation: hb.isolation } : {}),
      });
      if (status !== agent.status) this.ctx.event({ type: 'agent.status_changed', agentId: agent.id, data: { from: agent.status, to: status } });
      if (repos.townState.seeInstance(hb.containerInstanceId, now)) {
        this.ctx.event({ type: 'container.instance_seen', agentId: agent.id, data: { instanceId: hb.containerInstanceId } });
      }
      if (agent.containerInstanceId !== null && agent.containerInstanceId !== hb.containerInstanceId) {
        this.ctx.event({ type: 'agent.container_changed', agentId: agent.id, data: { instanceId: hb.containerInstanceId } });
      }
    });
    return { answer, remembered: false, reconcileUnchanged };
  }

  /**
   * Nothing the reconciler reads changes but the heartbeat time: a live agent heard before in this
   * run (stored), same status, same container instance, and that instance is the newest one (so no
   * instance event is due and `latestInstanceId` stays).
   */
  private reconcileUnchanged(agent: AgentRecord, hb: HeartbeatRequest, status: AgentStatus): boolean {
    const stored = agent.storedHeartbeatAt ?? agent.lastHeartbeatAt;
    if (stored === null || (agent.dispatchedAt !== null && stored < agent.dispatchedAt)) return false;
    if (status !== agent.status || (status !== 'starting' && status !== 'working' && status !== 'waiting')) return false;
    if (hb.containerInstanceId !== agent.containerInstanceId) return false;
    return this.ctx.repos.townState.latestInstance()?.instanceId === hb.containerInstanceId;
  }

  /**
   * Storing it would change nothing but times (last heartbeat, credential report time, updated_at,
   * the instance's last_seen_at): runtime state, session, credential report and isolation are as
   * stored, and the stored heartbeat is recent enough (livenessFlushMs) for the restart rule to hold.
   */
  private storageUnchanged(agent: AgentRecord, hb: HeartbeatRequest, now: number): boolean {
    const stored = agent.storedHeartbeatAt ?? agent.lastHeartbeatAt;
    if (stored === null || now - stored > livenessFlushMs(this.ctx.settings)) return false;
    if (hb.runtimeState !== agent.runtimeState || hb.sessionId !== agent.sessionId) return false;
    if (hb.isolation !== undefined && hb.isolation !== agent.isolation) return false;
    return agent.credentialReported !== null && canonicalJson(hb.credential) === canonicalJson(agent.credentialReported);
  }

  /**
   * Store an agent's event batch (duplicates by client id are dropped). Newly accepted events of
   * the types in TOWN_VISIBLE_AGENT_EVENTS are also recorded as town events, so the town's event
   * stream carries the mayor's chat (text, tool calls, busy/idle) and credential changes. Newly
   * accepted `model.usage` events become priced usage rows in the same transaction, after which the
   * spend cap is evaluated: `spendCapped` tells the caller to wake the reconciler (it pauses polecats).
   */
  recordEvents(agent: AgentRecord, batch: EventBatchRequest): { accepted: number; duplicates: number; spendCapped: boolean } {
    const { repos, clock } = this.ctx;
    const { accepted, spendCapped } = this.ctx.transaction(() => {
      const now = clock.now();
      let count = 0;
      const usageEvents: AgentEvent[] = [];
      for (const e of batch.events) {
        if (repos.agentEvents.insertMany(agent.id, [e], now) === 0) continue;
        count += 1;
        if (TOWN_VISIBLE_AGENT_EVENTS.has(e.type))
          this.ctx.event({ type: e.type, agentId: agent.id, ...(BEAD_AGENT_EVENTS.has(e.type) ? { beadId: agent.beadId } : {}), data: e.data });
        if (e.type === CREDENTIAL_EXPIRED_EVENT) this.escalateExpired(agent, e.data);
        if (e.type === GIT_CREDENTIALS_EXPIRED_EVENT) this.escalateGitExpired(agent, e.data);
        if (e.type === MODEL_USAGE_EVENT) usageEvents.push(e);
      }
      const newUsage = this.usage.ingest(agent, usageEvents, now) > 0;
      return { accepted: count, spendCapped: newUsage && this.spendCap.evaluate(now)?.state === 'capped' };
    });
    return { accepted, duplicates: batch.events.length - accepted, spendCapped };
  }

  /**
   * One escalation per git-token outage of a rig: the container's git token broker sends one
   * `git.credentials_expired` per outage; while an escalation for the rig is open, another adds nothing.
   */
  private escalateGitExpired(agent: AgentRecord, data: Record<string, unknown>): void {
    const rigId = typeof data.rigId === 'string' ? data.rigId : agent.rigId;
    const title = `Rig ${rigId ?? '?'}: git credentials expired and could not be renewed`.slice(0, 200);
    const open = this.work.list({}).some((b) => b.type === 'escalation' && (b.status === 'open' || b.status === 'in_progress') && b.title === title);
    if (open) return;
    const reason = typeof data.reason === 'string' ? data.reason.slice(0, 50) : 'expired';
    const lastError = typeof data.lastError === 'string' ? data.lastError.slice(0, 300) : 'unknown';
    this.work.escalate(agent, {
      title,
      body: `The container could not get a usable git token for rig ${rigId ?? '?'} (${reason}: ${lastError}). Git operations of the rig fail with git_auth_failed until a token can be minted again (check the rig's GitHub App installation or token, and the git host's status). It recovers by itself.`,
      severity: 'high',
      relatedBeadId: agent.beadId,
    });
  }

  /**
   * One escalation per outage: the container sends one `credential.expired` per transition into
   * the expired state (deduplicated by event id above), delivered once the control plane answers
   * again. A second one while the agent's previous expiry escalation is still open adds nothing.
   */
  private escalateExpired(agent: AgentRecord, data: Record<string, unknown>): void {
    const title = `Agent ${agent.name} lost its credentials (control plane unreachable past expiry)`.slice(0, 200);
    const open = this.work
      .list({})
      .some((b) => b.type === 'escalation' && (b.status === 'open' || b.status === 'in_progress') && b.title === title && b.metadata.fromAgentId === agent.id);
    if (open) return;
    const lastError = typeof data.lastError === 'string' ? data.lastError.slice(0, 300) : 'unknown';
    this.work.escalate(agent, {
      title,
      body: `The access token of ${agent.role} ${agent.id} (gen ${agent.gen}) expired while the control plane could not be reached (${lastError}). Its tool calls failed with credentials_expired until the broker refreshed again.`,
      severity: 'medium',
      relatedBeadId: agent.beadId,
    });
  }

  /**
   * The agent's process ended. The hooked bead moves per `beadAfterCompletion`; then the run's
   * credentials die with it (gen + 1, its families revoked): its access token gets 401
   * token_revoked and its refresh credential is refused on their next use, so a copy stolen during
   * the run is worth nothing after it.
   *
   * Order: the report is recorded first and the credentials revoked after it, in the same
   * transaction — the report itself is accepted. It is the last thing the container sends for a
   * run: its supervisor stops the heartbeat, flushes the event batch and lets pending merge
   * callbacks finish before it (packages/container/src/supervisor/agent-supervisor.ts `#teardown`).
   * A repeated report therefore gets 401 token_revoked and changes nothing. An agent a heartbeat
   * already showed as ended still has its credentials revoked here.
   *
   * `drained` (the container is going away): a polecat's in-progress bead stays assigned to it and
   * is marked (DRAINED_BY_KEY) so the reconciler re-dispatches the same polecat — same branch, where
   * its work was pushed — at gen + 1 on its next pass, which the re-armed alarm makes immediate. No
   * attempt is spent. For a mayor or a refinery `drained` is `stopped`. A polecat `stopped` after
   * its turn because the spend cap was reached (its bead marked for this run: pausedForSpendCap) is
   * treated the same way: re-dispatched once the town is no longer capped.
   */
  complete(
    agent: AgentRecord,
    req: { outcome: CompletionRequest['outcome']; reason: string; branch: string | null },
  ): { ok: true; beadStatus: BeadStatus | null } {
    const { repos, clock } = this.ctx;
    const bead = agent.beadId ? repos.beads.get(agent.beadId) : null;
    const now = clock.now();
    // a polecat stopped after its turn because the spend cap was reached keeps its bead, as a drained one does
    const keepsBead = req.outcome === 'drained' || (req.outcome === 'stopped' && bead !== null && pausedForSpendCap(bead.metadata, agent));
    if (agent.status === 'exited' || agent.status === 'failed') {
      this.ctx.transaction(() => {
        if (keepsBead) this.markDrained(agent, now);
        this.endCredentials(agent, now);
      });
      return { ok: true, beadStatus: bead?.status ?? null };
    }
    const agentStatus: AgentStatus = req.outcome === 'failed' ? 'failed' : 'exited';
    const beadStatus = this.ctx.transaction(() => {
      repos.agents.setStatus(agent.id, agentStatus, now);
      let status = bead?.status ?? null;
      if (keepsBead) this.markDrained(agent, now);
      else if (bead && agent.role === 'polecat' && bead.assigneeId === agent.id) {
        const transition = beadAfterCompletion(bead, req.outcome);
        if (transition) {
          const { settings } = this.ctx;
          // a spent attempt waits out the backoff before the next polecat is dispatched
          const spent = transition.attempts > bead.attempts;
          // why the attempt was spent, for `gastown beads` and the dashboard (the reason is redacted above)
          const lastFailure = spent
            ? { lastFailure: { reason: `its polecat ended ${req.outcome}${req.reason ? `: ${req.reason}` : ''}`.slice(0, 500), at: now } }
            : {};
          const metadata =
            transition.status === 'open' && spent
              ? { ...bead.metadata, ...lastFailure, retryAt: now + backoffMs(transition.attempts, settings.backoffBaseMs, settings.backoffMaxMs) }
              : { ...bead.metadata, ...lastFailure };
          const updated = repos.beads.update(bead.id, { ...transition, metadata }, now);
          status = updated.status;
          this.ctx.event({
            type: 'bead.status_changed',
            agentId: agent.id,
            beadId: bead.id,
            data: { from: bead.status, to: status, attempts: transition.attempts },
          });
          if (status === 'failed')
            this.work.escalateBeadFailure(updated, `the last polecat ended: ${req.outcome}${req.reason ? ` (${req.reason.slice(0, 500)})` : ''}`);
        }
      }
      this.ctx.event({
        type: 'agent.completed',
        agentId: agent.id,
        beadId: bead?.id ?? null,
        data: { outcome: req.outcome, reason: req.reason.slice(0, 500), branch: req.branch },
      });
      this.endCredentials(agent, now);
      return status;
    });
    return { ok: true, beadStatus };
  }

  /**
   * A drained polecat (or one paused by the spend cap) keeps its in-progress bead, marked for its
   * re-dispatch, which the reconciler holds back while the town is capped (inside the completion's
   * transaction). The pause mark goes: the re-dispatched run is a new one.
   */
  private markDrained(agent: AgentRecord, now: number): void {
    if (agent.role !== 'polecat' || !agent.beadId) return;
    const bead = this.ctx.repos.beads.get(agent.beadId);
    if (!bead || bead.status !== 'in_progress' || bead.assigneeId !== agent.id) return;
    const { [PAUSED_BY_KEY]: _pausedBy, [PAUSED_GEN_KEY]: _pausedGen, ...metadata } = bead.metadata;
    this.ctx.repos.beads.update(bead.id, { metadata: { ...metadata, [DRAINED_BY_KEY]: agent.id } }, now);
  }

  /** The run's credentials end with it (inside the completion's transaction). */
  private endCredentials(agent: AgentRecord, now: number): void {
    const gen = revokeRunCredentials(this.ctx, agent.id, 'run_completed', now);
    this.ctx.event({ type: 'credential.revoked', agentId: agent.id, data: { gen, previousGen: agent.gen, reason: 'run_completed' } });
  }
}

/** The bead was marked for this very run (its generation) when the spend cap asked it to stop after its turn. */
export function pausedForSpendCap(metadata: Record<string, unknown>, agent: Pick<AgentRecord, 'role' | 'gen'>): boolean {
  return agent.role === 'polecat' && metadata[PAUSED_BY_KEY] === SPEND_CAP_PAUSE && metadata[PAUSED_GEN_KEY] === agent.gen;
}

/** JSON with object keys sorted: equal for equal values whatever order their keys were built in. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function requireBead<T>(value: T | null, what = 'bead'): T {
  if (value === null) throw new GastownError('not_found', `${what} not found`);
  return value;
}
