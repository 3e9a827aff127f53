/**
 * The reconciler: a pure function from town state to actions, and the time it should next look.
 * No I/O, no clock: `now` and the settings come in as arguments. The applier (apply.ts) does the rest.
 */
import type { TownSettings } from '../town-settings';
import type { Action, LostReason, ReconcileAgent, ReconcileBead, ReconcileState } from './types';

export type ReconcileSettings = Pick<
  TownSettings,
  'heartbeatIntervalMs' | 'missedHeartbeats' | 'backstopHeardWithinIntervals' | 'backstopLifeFraction' | 'startGraceMs' | 'maxPolecats' | 'maxAttempts'
>;

const LIVE: ReadonlySet<string> = new Set(['starting', 'working', 'waiting']);

/**
 * Agent lookup by id in O(1). The index is a pure function of the (read-only) state object,
 * memoised per state so a tick over N agents and M beads stays O(N + M) instead of O(N × M).
 */
const agentIndexes = new WeakMap<ReconcileState, ReadonlyMap<string, ReconcileAgent>>();
function agentById(state: ReconcileState, agentId: string | null): ReconcileAgent | undefined {
  if (agentId === null) return undefined;
  let index = agentIndexes.get(state);
  if (!index) {
    index = new Map(state.agents.map((a) => [a.id, a]));
    agentIndexes.set(state, index);
  }
  return index.get(agentId);
}

export function isLive(agent: Pick<ReconcileAgent, 'status'>): boolean {
  return LIVE.has(agent.status);
}

export function reconcile(state: ReconcileState, now: number, settings: ReconcileSettings): Action[] {
  const actions: Action[] = [];
  const lost = new Map<string, LostReason>();
  for (const agent of state.agents) {
    const reason = lostReason(agent, state.latestInstanceId, now, settings, state.containerStoppedAt ?? null);
    if (reason) lost.set(agent.id, reason);
  }
  for (const agent of state.agents) {
    const reason = lost.get(agent.id);
    // a capped town starts no run again: the lost run's bead goes back to the queue as for any lost run without a re-dispatch
    if (reason) actions.push({ type: 'agent_lost', agentId: agent.id, reason, redispatch: hasWork(agent, state) && !state.spendCapped });
  }
  const gone = (agentId: string | null): boolean => {
    if (agentId === null) return true;
    const agent = agentById(state, agentId);
    return !agent || lost.has(agent.id) || (!isLive(agent) && !agent.busy);
  };

  actions.push(...issueActions(state, now, settings, lost, gone));
  actions.push(...mergeRequestActions(state, now, settings, lost, gone));
  actions.push(...pullRequestActions(state, now));
  actions.push(...spendCapPauses(state, now, lost));

  for (const agent of state.agents) {
    if (!lost.has(agent.id) && needsBackstop(agent, state.latestInstanceId, now, settings)) actions.push({ type: 'push_credentials', agentId: agent.id });
  }
  for (const agent of state.agents) {
    const at = endedRunRevokeAt(agent, settings);
    if (at !== null && now >= at) actions.push({ type: 'revoke_ended_run', agentId: agent.id });
  }
  return actions;
}

/**
 * When the live credentials of a run that ended (not live, nothing in flight) are revoked: one
 * heartbeat interval after its last change, time for a completion report on its way (which revokes
 * them itself) to arrive. Null when nothing is to revoke.
 */
export function endedRunRevokeAt(agent: ReconcileAgent, settings: ReconcileSettings): number | null {
  if (!agent.credentialsLive || isLive(agent) || agent.busy) return null;
  return agent.updatedAt + settings.heartbeatIntervalMs;
}

/** Why a live agent's run is gone, or null. Agents with an operation in flight are left alone. */
export function lostReason(
  agent: ReconcileAgent,
  latestInstanceId: string | null,
  now: number,
  settings: ReconcileSettings,
  containerStoppedAt: number | null = null,
): LostReason | null {
  if (!isLive(agent) || agent.busy) return null;
  if (containerStoppedAt !== null && lastSignOfLife(agent) < containerStoppedAt - CONTAINER_STOP_CLOCK_MARGIN_MS) return 'container_stopped';
  if (agent.containerInstanceId !== null && latestInstanceId !== null && agent.containerInstanceId !== latestInstanceId) return 'container_restarted';
  const deadline = livenessDeadline(agent, settings);
  return deadline !== null && now > deadline ? 'missed_heartbeats' : null;
}

/**
 * The stop time comes from TownContainerDO's clock, another object's: a run heard from this close
 * before it is left to the heartbeat deadline rather than risk declaring a live run lost.
 */
export const CONTAINER_STOP_CLOCK_MARGIN_MS = 2_000;

/**
 * The newest moment a run was known to exist: its last heartbeat, its dispatch, or any change to
 * its row (a start the container confirmed). A run in a container booted after a stop always has
 * one later than that stop (the container could not start before the old one stopped).
 */
function lastSignOfLife(agent: ReconcileAgent): number {
  return Math.max(agent.lastHeartbeatAt ?? 0, agent.dispatchedAt ?? 0, agent.updatedAt);
}

/** When a live agent counts as lost if nothing is heard (null: no reference time). */
export function livenessDeadline(agent: ReconcileAgent, settings: ReconcileSettings): number | null {
  const heardAt = Math.max(agent.lastHeartbeatAt ?? 0, agent.dispatchedAt ?? 0);
  if (heardAt === 0) return null;
  const neverHeard = agent.lastHeartbeatAt === null || (agent.dispatchedAt !== null && agent.lastHeartbeatAt < agent.dispatchedAt);
  const windowMs = settings.missedHeartbeats * settings.heartbeatIntervalMs;
  return heardAt + (neverHeard ? Math.max(windowMs, settings.startGraceMs) : windowMs);
}

/** Only runs that had work are started again: a polecat on its bead, a refinery with a merge request. */
function hasWork(agent: ReconcileAgent, state: ReconcileState): boolean {
  if (agent.role === 'polecat') {
    const bead = agent.beadId ? state.beads.find((b) => b.id === agent.beadId) : undefined;
    return bead !== undefined && bead.status === 'in_progress' && bead.assigneeId === agent.id;
  }
  if (agent.role === 'refinery') {
    return state.beads.some((b) => b.type === 'merge_request' && (b.status === 'open' || b.status === 'in_progress') && b.assigneeId === agent.id);
  }
  return false;
}

function issueActions(
  state: ReconcileState,
  now: number,
  settings: ReconcileSettings,
  lost: ReadonlyMap<string, LostReason>,
  gone: (id: string | null) => boolean,
): Action[] {
  const actions: Action[] = [];
  const issues = state.beads.filter((b) => b.type === 'issue' && b.rigId !== null);
  let drainedRedispatches = 0;
  for (const bead of issues) {
    // hooked to an agent that ended without moving the bead (and is not being re-dispatched)
    if (bead.status === 'in_progress' && bead.assigneeId !== null && !lost.has(bead.assigneeId) && gone(bead.assigneeId)) {
      const agent = agentById(state, bead.assigneeId);
      if (agent && isDrainedHolder(bead, agent)) {
        if (state.spendCapped) continue; // kept for it until the spend cap is lifted
        if ((bead.retryAt ?? 0) > now) continue; // a start the draining container refused: tried again after a pause
        // its container went away mid-work: the same polecat takes it up again at once, from its branch
        actions.push({ type: 'redispatch_drained', beadId: bead.id, agentId: agent.id });
        drainedRedispatches += 1;
      }
      // give a completion report that is on its way one heartbeat interval to arrive
      else if (!agent || now - agent.updatedAt >= settings.heartbeatIntervalMs)
        actions.push({ type: 'release_bead', beadId: bead.id, agentId: bead.assigneeId });
    }
    if (bead.status === 'open' && bead.attempts >= settings.maxAttempts) {
      actions.push({ type: 'fail_bead', beadId: bead.id, reason: `${bead.attempts} attempts failed` });
    }
  }
  if (!state.providerConfigured || state.spendCapped) return actions;
  // every polecat that holds (or is about to hold) a slot: running, being re-dispatched after a loss, or after a drain
  const holders = state.agents.filter((a) => a.role === 'polecat' && (isLive(a) || a.busy || lost.has(a.id)));
  const drained = actions.filter((a): a is Extract<Action, { type: 'redispatch_drained' }> => a.type === 'redispatch_drained');
  const perRig = new Map<string, number>();
  const take = (rigId: string | null) => {
    if (rigId !== null) perRig.set(rigId, (perRig.get(rigId) ?? 0) + 1);
  };
  for (const agent of holders) take(agent.rigId);
  for (const action of drained) take(agentById(state, action.agentId)?.rigId ?? null);
  let capacity = townPolecatLimit(state, settings) - holders.length - drainedRedispatches;
  const due = issues.filter((b) => isDispatchable(b, now, settings)).sort(dispatchOrder);
  for (const bead of due) {
    if (capacity <= 0) break;
    const rigId = bead.rigId!;
    if (!rigSlotFree(state, rigId, perRig.get(rigId) ?? 0)) continue; // its rig is full: a bead of another rig may go
    actions.push({ type: 'dispatch_polecat', beadId: bead.id, rigId });
    take(rigId);
    capacity -= 1;
  }
  return actions;
}

/** Polecats the town runs at once: its own limit, else the deployment's. */
export function townPolecatLimit(state: Pick<ReconcileState, 'maxPolecats'>, settings: Pick<ReconcileSettings, 'maxPolecats'>): number {
  return state.maxPolecats ?? settings.maxPolecats;
}

/** Whether a rig with `running` polecats may start one more (a rig without a limit of its own always may). */
function rigSlotFree(state: Pick<ReconcileState, 'rigMaxPolecats'>, rigId: string, running: number): boolean {
  const limit = state.rigMaxPolecats?.[rigId];
  return limit === undefined || running < limit;
}

/**
 * An open issue a polecat may take now: unassigned, attempts left, past its retry backoff, and
 * every dependency closed (`waitingOn` 0) — a bead waiting on another is never dispatched.
 */
export function isDispatchable(bead: ReconcileBead, now: number, settings: Pick<ReconcileSettings, 'maxAttempts'>): boolean {
  return (
    bead.type === 'issue' &&
    bead.status === 'open' &&
    bead.assigneeId === null &&
    bead.rigId !== null &&
    bead.attempts < settings.maxAttempts &&
    (bead.retryAt ?? 0) <= now &&
    (bead.waitingOn ?? 0) === 0
  );
}

const DEFAULT_PRIORITY = 2;

/** Dispatch order: most urgent priority first (0 before 4), then oldest, then by id. */
export function dispatchOrder(a: ReconcileBead, b: ReconcileBead): number {
  return (a.priority ?? DEFAULT_PRIORITY) - (b.priority ?? DEFAULT_PRIORITY) || a.createdAt - b.createdAt || a.id.localeCompare(b.id);
}

/**
 * Spend cap reached: each live polecat on its in-progress bead whose run was not yet asked is asked
 * to stop after its turn (the bead is marked for that run's generation first, see apply.ts).
 */
export function spendCapPauses(state: ReconcileState, now: number, lost: ReadonlyMap<string, LostReason> = new Map()): Action[] {
  if (!state.spendCapped) return [];
  const actions: Action[] = [];
  for (const agent of state.agents) {
    const bead = pauseCandidateBead(state, agent);
    if (bead && !lost.has(agent.id) && (bead.pauseRetryAt ?? 0) <= now) actions.push({ type: 'pause_for_spend_cap', agentId: agent.id, beadId: bead.id });
  }
  return actions;
}

function pauseCandidateBead(state: ReconcileState, agent: ReconcileAgent): ReconcileBead | null {
  if (agent.role !== 'polecat' || !isLive(agent) || agent.busy || agent.beadId === null) return null;
  const bead = state.beads.find((b) => b.id === agent.beadId);
  if (!bead || bead.type !== 'issue' || bead.status !== 'in_progress' || bead.assigneeId !== agent.id) return null;
  return bead.pausedGen === agent.gen ? null : bead;
}

/**
 * A polecat whose run was drained while it held this in-progress bead, and that has not run since
 * (no other end, no stop). `failed`: its re-dispatch was refused by the container still draining
 * (the bead then carries a retryAt; see ReconcilerService.redispatchDrained).
 */
function isDrainedHolder(bead: ReconcileBead, agent: ReconcileAgent): boolean {
  return bead.drainedBy === agent.id && agent.role === 'polecat' && (agent.status === 'exited' || agent.status === 'failed') && !agent.busy;
}

/** The refinery of a rig: the newest one that is not stopped. */
export function refineryOf(state: ReconcileState, rigId: string): ReconcileAgent | null {
  const candidates = state.agents.filter((a) => a.role === 'refinery' && a.rigId === rigId && a.status !== 'stopped');
  return candidates.length > 0 ? candidates[candidates.length - 1]! : null;
}

function mergeRequestActions(
  state: ReconcileState,
  now: number,
  settings: ReconcileSettings,
  lost: ReadonlyMap<string, LostReason>,
  gone: (id: string | null) => boolean,
): Action[] {
  const actions: Action[] = [];
  const mrs = state.beads.filter((b) => b.type === 'merge_request' && b.rigId !== null).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  const rigs = [...new Set(mrs.map((b) => b.rigId!))];
  for (const rigId of rigs) {
    const refinery = refineryOf(state, rigId);
    const refineryLive = refinery !== null && !lost.has(refinery.id) && (isLive(refinery) || refinery.busy);
    const handedToCurrentRun = (mr: ReconcileBead) => refinery !== null && mr.assigneeId === refinery.id && mr.reviewGen === refinery.gen && refineryLive;
    const waiting: ReconcileBead[] = [];
    for (const mr of mrs.filter((b) => b.rigId === rigId)) {
      if (mr.status === 'in_progress' && mr.pullRequestStage) continue; // pushed: its pull request is followed instead (pullRequestActions)
      if (mr.status === 'in_progress') {
        // approved; the merge callback comes from the approving run — unless that run is gone
        if (!handedToCurrentRun(mr) && gone(mr.assigneeId) && !(mr.assigneeId !== null && lost.has(mr.assigneeId))) {
          actions.push({ type: 'requeue_merge_request', mergeRequestBeadId: mr.id });
        }
        continue;
      }
      if (mr.status !== 'open' || handedToCurrentRun(mr)) continue;
      if (mr.assigneeId !== null && mr.reviewGen !== null && !lost.has(mr.assigneeId) && gone(mr.assigneeId)) {
        // handed to a refinery run that ended without approving or sending it back
        actions.push({ type: 'review_unfinished', mergeRequestBeadId: mr.id, refineryId: mr.assigneeId });
        continue;
      }
      if (mr.reviewAttempts >= settings.maxAttempts) {
        actions.push({ type: 'fail_merge_request', mergeRequestBeadId: mr.id, reason: `${mr.reviewAttempts} review hand-overs failed` });
        continue;
      }
      // the polecat pushes its branch when it exits: review only after that
      if (mr.polecatId !== null && !gone(mr.polecatId)) continue;
      if ((mr.retryAt ?? 0) > now) continue;
      waiting.push(mr);
    }
    const next = waiting[0];
    if (!next || !state.providerConfigured || state.spendCapped) continue;
    if (refinery !== null && lost.has(refinery.id)) continue; // re-dispatched by agent_lost first
    if (refinery === null || (!isLive(refinery) && !refinery.busy)) {
      actions.push({ type: 'review_merge_request', rigId, mergeRequestBeadId: next.id, refineryId: refinery?.id ?? null, mode: 'start' });
    } else if (refinery.status === 'waiting' && !refinery.busy) {
      actions.push({ type: 'review_merge_request', rigId, mergeRequestBeadId: next.id, refineryId: refinery.id, mode: 'deliver' });
    }
    // a refinery that is starting or working gets the next merge request when it waits again
  }
  return actions;
}

/** Pushed merge requests of the pull-request strategy whose next step is due: open the pull request, or poll it. */
export function pullRequestActions(state: ReconcileState, now: number): Action[] {
  const actions: Action[] = [];
  for (const mr of state.beads) {
    if (mr.type !== 'merge_request' || mr.status !== 'in_progress' || !mr.pullRequestStage) continue;
    if ((mr.pullRequestDueAt ?? 0) > now) continue;
    actions.push({ type: mr.pullRequestStage === 'pending_open' ? 'open_pull_request' : 'poll_pull_request', mergeRequestBeadId: mr.id });
  }
  return actions;
}

/**
 * The credential backstop: only a `working` agent, heard from within the last intervals by the
 * newest container instance, whose token has used its life fraction without a refresh.
 */
export function needsBackstop(agent: ReconcileAgent, latestInstanceId: string | null, now: number, settings: ReconcileSettings): boolean {
  const at = backstopAt(agent, settings);
  return at !== null && now >= at && heardRecently(agent, latestInstanceId, now, settings);
}

function heardRecently(agent: ReconcileAgent, latestInstanceId: string | null, now: number, settings: ReconcileSettings): boolean {
  if (agent.lastHeartbeatAt === null) return false;
  if (latestInstanceId !== null && agent.containerInstanceId !== latestInstanceId) return false;
  return now - agent.lastHeartbeatAt <= settings.backstopHeardWithinIntervals * settings.heartbeatIntervalMs;
}

/** When a working agent's token passes the backstop fraction of its life (null: not applicable). */
function backstopAt(agent: ReconcileAgent, settings: ReconcileSettings): number | null {
  if (agent.status !== 'working' || agent.busy) return null;
  if (agent.tokenIssuedAt === null || agent.tokenExpiresAt === null || agent.tokenExpiresAt <= agent.tokenIssuedAt) return null;
  return agent.tokenIssuedAt + Math.ceil((agent.tokenExpiresAt - agent.tokenIssuedAt) * settings.backstopLifeFraction);
}

/**
 * When the reconciler should run next: the earliest liveness deadline, backstop time, bead retry or
 * pending hand-over — or null when nothing is live or pending (an idle town's alarm stays off).
 */
export function nextWakeAt(state: ReconcileState, now: number, settings: ReconcileSettings): number | null {
  let next = Number.POSITIVE_INFINITY;
  const consider = (at: number | null) => {
    if (at !== null && at < next) next = at;
  };
  const capped = state.spendCapped === true;
  // a capped town looks again when its period ends (dispatch resumes then)
  if (capped) consider(state.spendCapResetAt ?? null);
  for (const agent of state.agents) {
    if (agent.busy) {
      consider(now + settings.heartbeatIntervalMs);
      continue;
    }
    const pause = capped ? pauseCandidateBead(state, agent) : null;
    if (pause) consider(Math.max(now, pause.pauseRetryAt ?? now));
    const revokeAt = endedRunRevokeAt(agent, settings);
    if (revokeAt !== null) consider(Math.max(revokeAt, now));
    if (!isLive(agent)) continue;
    const deadline = livenessDeadline(agent, settings);
    consider(deadline === null ? null : deadline + 1);
    const backstop = backstopAt(agent, settings);
    if (backstop !== null && agent.lastHeartbeatAt !== null) consider(Math.max(backstop, now));
  }
  // with every polecat slot taken (the town's, or the bead's rig's), a waiting bead needs no wake-up: a polecat's end re-arms the alarm
  const runningPolecats = state.agents.filter((a) => a.role === 'polecat' && (isLive(a) || a.busy));
  const polecatSlotFree = runningPolecats.length < townPolecatLimit(state, settings);
  const perRig = new Map<string, number>();
  for (const a of runningPolecats) if (a.rigId !== null) perRig.set(a.rigId, (perRig.get(a.rigId) ?? 0) + 1);
  const runningOf = (rigId: string) => perRig.get(rigId) ?? 0;
  for (const bead of state.beads) {
    if (bead.type === 'issue' && bead.status === 'open' && bead.assigneeId === null && bead.rigId !== null) {
      if (bead.attempts >= settings.maxAttempts) consider(now);
      // waiting on a dependency: the change that closes it re-arms the alarm
      else if ((bead.waitingOn ?? 0) > 0) continue;
      else if (state.providerConfigured && polecatSlotFree && !capped && rigSlotFree(state, bead.rigId, runningOf(bead.rigId)))
        consider(Math.max(bead.retryAt ?? now, now));
    }
    if (bead.type === 'issue' && bead.status === 'in_progress' && bead.assigneeId !== null) {
      const agent = agentById(state, bead.assigneeId);
      if (!agent) consider(now);
      else if (isDrainedHolder(bead, agent)) {
        if (!capped) consider(Math.max(now, bead.retryAt ?? now));
      } else if (!isLive(agent) && !agent.busy) consider(agent.updatedAt + settings.heartbeatIntervalMs);
    }
    if (bead.type === 'merge_request' && bead.status === 'in_progress' && bead.pullRequestStage) consider(Math.max(bead.pullRequestDueAt ?? now, now));
    if (bead.type === 'merge_request' && bead.status === 'open' && state.providerConfigured && bead.rigId !== null) {
      const refinery = refineryOf(state, bead.rigId);
      const handed = refinery !== null && bead.assigneeId === refinery.id && bead.reviewGen === refinery.gen && (isLive(refinery) || refinery.busy);
      if (handed) continue;
      if (bead.assigneeId !== null && bead.reviewGen !== null) {
        const reviewer = agentById(state, bead.assigneeId);
        if (!reviewer || (!isLive(reviewer) && !reviewer.busy)) {
          consider(now);
          continue;
        }
      }
      if (capped) continue; // no review is handed over until the spend cap is lifted
      const polecat = bead.polecatId ? agentById(state, bead.polecatId) : undefined;
      if (polecat && (isLive(polecat) || polecat.busy)) continue; // its exit (completion) triggers a look
      if (refinery && (isLive(refinery) || refinery.busy) && refinery.status !== 'waiting') consider(now + settings.heartbeatIntervalMs);
      else consider(Math.max(bead.retryAt ?? now, now));
    }
  }
  return Number.isFinite(next) ? next : null;
}
