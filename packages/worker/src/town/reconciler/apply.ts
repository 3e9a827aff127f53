import { asGastownError, codeOf, GastownError } from '@gastown/protocol';
import { DRAINED_BY_KEY } from '../bead-rules';

/** Metadata key: how many times the re-dispatch of a drained polecat was refused by its container. */
const DRAIN_TRIES_KEY = 'drainRedispatchTries';
const DRAIN_REDISPATCH_TRIES = 8;
const DRAIN_REDISPATCH_PAUSE_MS = 2_000;
const DRAIN_REDISPATCH_MAX_PAUSE_MS = 30_000;
import { refineryPrompt } from '../briefings';
import { grantToRunningAgent, revokeRunCredentials } from '../credentials';
import type { AgentService } from '../services/agent-service';
import type { TownContext } from '../services/context';
import type { DispatchService } from '../services/dispatch-service';
import type { PullRequestService } from '../services/pull-request-service';
import type { ReviewService } from '../services/review-service';
import type { SpendCapService } from '../services/spend-cap-service';
import type { TownService } from '../services/town-service';
import { PAUSE_RETRY_AT_KEY, PAUSED_BY_KEY, PAUSED_GEN_KEY, SPEND_CAP_PAUSE } from '../spend-rules';
import type { WorkService } from '../services/work-service';
import { loadReconcileState } from './load-state';
import { nextWakeAt, reconcile } from './reconcile';
import type { Action, LostReason } from './types';

/** How long a merge request waits for a stopping refinery run to report its end before the next hand-over try. */
export const REFINERY_ENDING_PAUSE_MS = 1_000;

export interface ReconcileRun {
  actions: Action[];
  /** When to run next (null: nothing live or pending — leave the alarm off). */
  nextAt: number | null;
}

/**
 * The reconciler's applier: load state, decide (pure `reconcile`), carry out each action, then
 * compute the next wake-up from the new state. One failing action never stops the others.
 */
export class ReconcilerService {
  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
    private readonly agents: AgentService,
    private readonly work: WorkService,
    private readonly review: ReviewService,
    private readonly dispatch: DispatchService,
    private readonly pullRequests: PullRequestService,
    private readonly spendCap: SpendCapService,
  ) {}

  async run(): Promise<ReconcileRun> {
    const { ctx } = this;
    try {
      // a new period (or a cap changed elsewhere): the recorded standing first, so `spend.resumed` precedes the dispatches
      this.spendCap.evaluate();
    } catch (err) {
      ctx.logger.warn({ msg: 'spend cap evaluation failed', townId: ctx.townId, code: codeOf(err) });
    }
    this.flushLiveness();
    const state = loadReconcileState(ctx);
    const actions = reconcile(state, ctx.clock.now(), ctx.settings);
    // nothing done: the state just loaded is still the town's (no await ran), so it gives the next wake-up too
    if (actions.length === 0) return { actions, nextAt: nextWakeAt(state, ctx.clock.now(), ctx.settings) };
    for (const action of actions) {
      try {
        await this.apply(action);
      } catch (err) {
        const code = codeOf(err);
        ctx.logger.warn({ msg: 'reconciler action failed', townId: ctx.townId, action: action.type, code });
      }
    }
    return { actions, nextAt: this.nextAt() };
  }

  /**
   * Heartbeat times held in the TownDO's memory reach storage (one transaction), so a restart of
   * the object loses at most what came since the last tick (liveness-memory.ts). Rows read before
   * and after are the same: the repository already overlaid these times.
   */
  flushLiveness(): void {
    const { ctx } = this;
    if (ctx.liveness.size === 0) return;
    const heard = ctx.liveness.entries();
    ctx.transaction(() => {
      ctx.repos.agents.flushHeard(heard);
      const instances = new Map<string, number>();
      for (const [, h] of heard) instances.set(h.containerInstanceId, Math.max(instances.get(h.containerInstanceId) ?? 0, h.at));
      for (const [instanceId, at] of instances) ctx.repos.townState.touchInstance(instanceId, at);
    });
    ctx.liveness.clear(); // after the commit: a failed write keeps them for the next tick
  }

  /** When the reconciler should next look at this town, from its current state. */
  nextAt(): number | null {
    return nextWakeAt(loadReconcileState(this.ctx), this.ctx.clock.now(), this.ctx.settings);
  }

  private async apply(action: Action): Promise<void> {
    switch (action.type) {
      case 'dispatch_polecat':
        await this.dispatch.dispatchPolecat(action.beadId);
        return;
      case 'fail_bead':
        this.work.failIssue(action.beadId, action.reason);
        return;
      case 'release_bead':
        this.work.retryIssue(action.beadId, `its polecat ${action.agentId} ended without finishing it`, action.agentId);
        return;
      case 'redispatch_drained':
        await this.redispatchDrained(action.beadId, action.agentId);
        return;
      case 'review_merge_request':
        await this.handOver(action);
        return;
      case 'requeue_merge_request':
        this.review.requeue(action.mergeRequestBeadId, 'the approving refinery run is gone');
        return;
      case 'review_unfinished':
        this.review.handOverFailed(
          action.mergeRequestBeadId,
          new GastownError('conflict', `refinery ${action.refineryId} ended without approving or requesting changes`),
        );
        return;
      case 'fail_merge_request':
        this.review.giveUp(action.mergeRequestBeadId, action.reason);
        return;
      case 'open_pull_request':
        await this.pullRequests.open(action.mergeRequestBeadId);
        return;
      case 'poll_pull_request':
        await this.pullRequests.poll(action.mergeRequestBeadId);
        return;
      case 'agent_lost':
        await this.lost(action.agentId, action.reason, action.redispatch);
        return;
      case 'push_credentials':
        await this.push(action.agentId);
        return;
      case 'revoke_ended_run':
        this.revokeEnded(action.agentId);
        return;
      case 'pause_for_spend_cap':
        await this.pauseForSpendCap(action.agentId, action.beadId);
        return;
    }
  }

  /**
   * The spend cap is reached: the polecat is asked to stop after its current model call. Its bead is
   * marked for this run first (the run may stop, and report `stopped`, before the container answers),
   * so its completion keeps the bead for it (LifecycleService.complete). A request that does not reach
   * the container is unmarked and asked again a heartbeat interval later.
   */
  private async pauseForSpendCap(agentId: string, beadId: string): Promise<void> {
    const { ctx } = this;
    const agent = this.agents.record(agentId);
    const marked = ctx.transaction(() => {
      const bead = this.work.bead(beadId);
      if (bead.status !== 'in_progress' || bead.assigneeId !== agentId) return false;
      const { [PAUSE_RETRY_AT_KEY]: _retryAt, ...metadata } = bead.metadata;
      ctx.repos.beads.update(beadId, { metadata: { ...metadata, [PAUSED_BY_KEY]: SPEND_CAP_PAUSE, [PAUSED_GEN_KEY]: agent.gen } }, ctx.clock.now());
      return true;
    });
    if (!marked) return;
    try {
      const delivery = await ctx.container.stop(agentId, SPEND_CAP_PAUSE, { afterTurn: true });
      ctx.event({ type: 'agent.stop_requested', agentId, beadId, data: { reason: SPEND_CAP_PAUSE, afterTurn: true, gen: agent.gen, delivery } });
    } catch (err) {
      const code = codeOf(err, 'upstream_failed');
      const now = ctx.clock.now();
      ctx.transaction(() => {
        const bead = this.work.bead(beadId);
        if (bead.metadata[PAUSED_GEN_KEY] !== agent.gen || bead.status !== 'in_progress' || bead.assigneeId !== agentId) return;
        const { [PAUSED_BY_KEY]: _by, [PAUSED_GEN_KEY]: _gen, ...metadata } = bead.metadata;
        ctx.repos.beads.update(beadId, { metadata: { ...metadata, [PAUSE_RETRY_AT_KEY]: now + ctx.settings.heartbeatIntervalMs } }, now);
        ctx.event({ type: 'agent.stop_failed', agentId, beadId, data: { reason: SPEND_CAP_PAUSE, gen: agent.gen, code } });
      });
      throw err;
    }
  }

  /**
   * A run is gone (no heartbeats, or its container instance was replaced): gen + 1 revokes every
   * token it held, without contacting any container. Runs with work start again at that same new
   * generation (one generation per run: the re-dispatch does not bump it a second time).
   */
  private async lost(agentId: string, reason: LostReason, redispatch: boolean): Promise<void> {
    const { ctx } = this;
    const agent = this.agents.record(agentId);
    const now = ctx.clock.now();
    ctx.transaction(() => {
      const gen = revokeRunCredentials(ctx, agentId, reason, now);
      ctx.repos.agents.setStatus(agentId, 'exited', now);
      ctx.event({ type: 'agent.lost', agentId, beadId: agent.beadId, data: { reason, gen, previousStatus: agent.status, redispatch } });
    });
    if (!redispatch) return;
    if (agent.role === 'polecat' && agent.beadId) {
      // a lost run spends an attempt (a container that keeps crashing must not loop forever) …
      const bead = this.work.retryIssue(agent.beadId, `its polecat was lost (${reason})`, agentId);
      if (bead.status !== 'open') return; // out of attempts: failed and escalated
      // … but the same polecat takes its bead again at once, with gen + 1
      ctx.transaction(() => {
        ctx.repos.beads.update(bead.id, { status: 'in_progress', assigneeId: agentId, metadata: { ...bead.metadata, retryAt: null } }, ctx.clock.now());
      });
      await this.dispatch.startPolecat(agentId, 'redispatch', true, true);
      return;
    }
    if (agent.role === 'refinery') {
      const mrs = this.work
        .list({ rigId: agent.rigId! })
        .filter((b) => b.type === 'merge_request' && b.assigneeId === agentId && (b.status === 'open' || b.status === 'in_progress'));
      for (const mr of mrs) this.review.requeue(mr.id, `its refinery was lost (${reason})`);
      const first = mrs[0];
      if (first) await this.startRefinery(agentId, first.id, 'redispatch', true);
    }
  }

  /**
   * A polecat whose run was drained (its container went away after committing and pushing its work)
   * starts again on the same bead and branch. Its completion already moved it to a new generation
   * (gen + 1, the old run's tokens dead): the run starts at that generation. The drain spent no
   * attempt; a start that fails spends one, as any failed start does.
   */
  private async redispatchDrained(beadId: string, agentId: string): Promise<void> {
    const { ctx } = this;
    const before = this.work.bead(beadId);
    const tries = typeof before.metadata[DRAIN_TRIES_KEY] === 'number' ? before.metadata[DRAIN_TRIES_KEY] : 0;
    ctx.transaction(() => {
      const { [DRAINED_BY_KEY]: _drainedBy, retryAt: _retryAt, [PAUSE_RETRY_AT_KEY]: _pauseRetryAt, ...metadata } = before.metadata;
      ctx.repos.beads.update(beadId, { metadata }, ctx.clock.now());
    });
    // the container that drained may still be on its way out and refuse the start (503
    // container_unavailable): the same polecat is tried again after a pause, without spending an
    // attempt, up to DRAIN_REDISPATCH_TRIES times; then the bead goes back to open as for any failed start
    const deferrable = (error: GastownError) => error.code === 'container_unavailable' && tries < DRAIN_REDISPATCH_TRIES;
    try {
      await this.dispatch.startPolecat(agentId, 'drained', false, true, deferrable);
    } catch (error) {
      const typed = asGastownError(error, 'internal', 'polecat start failed');
      if (!deferrable(typed)) throw typed;
      const now = ctx.clock.now();
      const retryAt = now + Math.min(DRAIN_REDISPATCH_PAUSE_MS * 2 ** tries, DRAIN_REDISPATCH_MAX_PAUSE_MS);
      ctx.transaction(() => {
        const bead = this.work.bead(beadId);
        ctx.repos.beads.update(beadId, { metadata: { ...bead.metadata, [DRAINED_BY_KEY]: agentId, [DRAIN_TRIES_KEY]: tries + 1, retryAt } }, now);
        ctx.event({ type: 'bead.redispatch_deferred', agentId, beadId, data: { code: typed.code, tries: tries + 1, retryAt } });
      });
    }
  }

  private async handOver(action: Extract<Action, { type: 'review_merge_request' }>): Promise<void> {
    const refineryId =
      action.refineryId ?? this.agents.create({ role: 'refinery', rigId: action.rigId, name: `refinery-${this.town.rig(action.rigId).name}`.slice(0, 100) }).id;
    if (action.mode === 'start') {
      await this.startRefinery(refineryId, action.mergeRequestBeadId, 'review');
      return;
    }
    const mr = this.work.bead(action.mergeRequestBeadId);
    try {
      const result = await this.dispatch.deliver(refineryId, refineryPrompt(mr, this.work.sourceOf(mr)));
      if (result === 'delivered') {
        this.review.markHandedOver(mr.id, this.agents.record(refineryId));
        return;
      }
      if (result === 'ending') {
        // the run is stopping (idle timeout): its completion report ends it properly in a moment, and
        // the next pass starts a new run. Declaring it lost now would revoke the credentials its last
        // events and that report carry (they would get 401 token_revoked).
        this.review.deferHandOver(mr.id, 'refinery_ending', REFINERY_ENDING_PAUSE_MS);
        return;
      }
      // the container has no such run: it is gone; the next pass starts a new one
      await this.lost(refineryId, 'missed_heartbeats', false);
    } catch (err) {
      this.review.handOverFailed(mr.id, asGastownError(err, 'upstream_failed', 'container operation failed'));
    }
  }

  private async startRefinery(refineryId: string, mergeRequestBeadId: string, reason: string, generationBumped = false): Promise<void> {
    const mr = this.work.bead(mergeRequestBeadId);
    try {
      await this.dispatch.start(refineryId, { prompt: refineryPrompt(mr, this.work.sourceOf(mr)), reason, generationBumped });
    } catch (err) {
      this.review.handOverFailed(mr.id, asGastownError(err, 'upstream_failed', 'container operation failed'));
      return;
    }
    this.review.markHandedOver(mr.id, this.agents.record(refineryId));
  }

  /** A run ended without a completion report: its credentials die as a completion would have ended them. */
  private revokeEnded(agentId: string): void {
    const { ctx } = this;
    const agent = this.agents.record(agentId);
    const now = ctx.clock.now();
    ctx.transaction(() => {
      const gen = revokeRunCredentials(ctx, agentId, 'run_ended_unreported', now);
      ctx.event({ type: 'credential.revoked', agentId, data: { gen, previousGen: agent.gen, reason: 'run_ended_unreported', status: agent.status } });
    });
  }

  /** Backstop: a fresh access token for a working agent whose token is past 75 % of its life. */
  private async push(agentId: string): Promise<void> {
    const { ctx } = this;
    const agent = this.agents.record(agentId);
    const granted = await grantToRunningAgent(ctx, agent, { kind: 'push' });
    if (!granted.ok) throw granted.error;
    ctx.event({
      type: 'credential.pushed',
      agentId,
      data: { gen: agent.gen, source: 'backstop', delivery: granted.delivery, expiresAt: granted.accessTokenExpiresAt },
    });
  }
}
