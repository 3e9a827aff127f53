import type { AgentRole, AgentStatus, BeadStatus, BeadType } from '@gastown/protocol';

/** An agent as the reconciler sees it: plain data from its row, plus whether an operation is in flight. */
export interface ReconcileAgent {
  id: string;
  role: AgentRole;
  rigId: string | null;
  status: AgentStatus;
  gen: number;
  beadId: string | null;
  updatedAt: number;
  dispatchedAt: number | null;
  lastHeartbeatAt: number | null;
  containerInstanceId: string | null;
  tokenIssuedAt: number | null;
  tokenExpiresAt: number | null;
  lastRefreshAt: number | null;
  /** A start (or other container operation) of this agent is running in this object right now. */
  busy: boolean;
  /** The agent holds a credential family that is not revoked. */
  credentialsLive: boolean;
}

/** A bead the reconciler may act on (issues and merge requests that are not settled). */
export interface ReconcileBead {
  id: string;
  type: BeadType;
  status: BeadStatus;
  rigId: string | null;
  assigneeId: string | null;
  attempts: number;
  createdAt: number;
  /** Issue: not before this time (retry backoff). Merge request: next review hand-over attempt. */
  retryAt: number | null;
  /** Merge request: the refinery generation it was handed to (null: not handed over). */
  reviewGen: number | null;
  /** Merge request: failed hand-overs so far. */
  reviewAttempts: number;
  /** Merge request: the polecat whose branch it is (review waits until it has exited and pushed). */
  polecatId: string | null;
  /** Issue: the polecat whose run was drained while it held the bead (re-dispatched at once); null: none. */
  drainedBy: string | null;
  /**
   * Merge request of the pull-request strategy (in progress, pushed): waiting for its pull request to
   * be opened (`pending_open`) or merged by a human (`open`); absent or null otherwise.
   */
  pullRequestStage?: 'pending_open' | 'open' | null;
  /** When the alarm next acts on that pull request: retry the open, or poll it. */
  pullRequestDueAt?: number | null;
  /** Issue: the generation of the polecat run asked to stop after its turn by the spend cap (absent or null: none). */
  pausedGen?: number | null;
  /** Issue: that request failed to reach the container; asked again from this time on. */
  pauseRetryAt?: number | null;
  /** Issue: 0 (most urgent) … 4 (backlog); open issues are dispatched in this order, then oldest first. Absent: 2. */
  priority?: number;
  /** Issue: how many of its dependencies are not closed yet; it is not dispatched while any is. Absent: 0. */
  waitingOn?: number;
}

export interface ReconcileState {
  agents: readonly ReconcileAgent[];
  beads: readonly ReconcileBead[];
  /** Without a model provider nothing is dispatched. */
  providerConfigured: boolean;
  /** The container instance first seen last, from heartbeats (null: none seen yet). */
  latestInstanceId: string | null;
  /**
   * The town's spend cap is reached in the current period: nothing new is dispatched (polecats,
   * reviews, re-dispatches) and working polecats are asked to stop after their turn. Absent: false.
   */
  spendCapped?: boolean;
  /** While capped: when the period ends (the reconciler looks again then). */
  spendCapResetAt?: number | null;
  /**
   * When the town's container last stopped (production: TownContainerDO.onStop). A live run
   * dispatched before it is gone: lost at once (`container_stopped`), not after missed heartbeats.
   */
  containerStoppedAt?: number | null;
  /** Polecats the town runs at once (its config's maxPolecats). Absent: the deployment's (settings.maxPolecats). */
  maxPolecats?: number;
  /** Rigs with a polecat limit of their own (rig id → limit); a rig not named has only the town's. */
  rigMaxPolecats?: Readonly<Record<string, number>>;
}

export type LostReason = 'missed_heartbeats' | 'container_restarted' | 'container_stopped';

export type Action =
  /** Create a polecat for an open issue bead and start it. */
  | { type: 'dispatch_polecat'; beadId: string; rigId: string }
  /** An open bead used up its attempts: failed, with an escalation. */
  | { type: 'fail_bead'; beadId: string; reason: string }
  /** A bead hooked to an agent that is gone: back to open (one attempt spent). */
  | { type: 'release_bead'; beadId: string; agentId: string }
  /** A polecat whose run was drained (its container went away): start it again on its bead, same branch, no attempt spent. */
  | { type: 'redispatch_drained'; beadId: string; agentId: string }
  /** Hand a merge request to the rig's refinery: start it (none live) or deliver it (waiting). */
  | { type: 'review_merge_request'; rigId: string; mergeRequestBeadId: string; refineryId: string | null; mode: 'start' | 'deliver' }
  /** A merge request approved by a refinery run that is gone: back to open for a new review. */
  | { type: 'requeue_merge_request'; mergeRequestBeadId: string }
  /** The refinery run it was handed to ended without a decision: one review attempt spent, retried after a backoff. */
  | { type: 'review_unfinished'; mergeRequestBeadId: string; refineryId: string }
  /** A merge request whose hand-overs kept failing: failed, with an escalation. */
  | { type: 'fail_merge_request'; mergeRequestBeadId: string; reason: string }
  /** The agent's run is gone: gen + 1 (its tokens die); start it again if it had work, else exited. */
  | { type: 'agent_lost'; agentId: string; reason: LostReason; redispatch: boolean }
  /** Pull-request strategy: open the pull request of a pushed merge request (again, after a failure). */
  | { type: 'open_pull_request'; mergeRequestBeadId: string }
  /** Pull-request strategy: ask the git host whether an open pull request was merged or closed (the webhook's fallback). */
  | { type: 'poll_pull_request'; mergeRequestBeadId: string }
  /** Credential backstop: a fresh access token for a working agent in an awake container. */
  | { type: 'push_credentials'; agentId: string }
  /** Spend cap reached: a working polecat is asked to stop after its current model call (its bead is kept for it). */
  | { type: 'pause_for_spend_cap'; agentId: string; beadId: string }
  /**
   * A run that ended without its completion report (a heartbeat said it exited or failed) still has
   * live credentials: gen + 1 and its families revoked, as a completion would have done.
   */
  | { type: 'revoke_ended_run'; agentId: string };
