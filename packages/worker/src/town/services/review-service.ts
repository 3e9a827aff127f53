import { asGastownError, GastownError, type Bead, type Rig, type RigRef } from '@gastown/protocol';
import { backoffMs } from '../bead-rules';
import type { AgentRecord } from '../repositories/agent-repository';
import type { TownContext } from './context';
import type { TownService } from './town-service';
import type { WorkService } from './work-service';

/** Longest merge commit message sent to the container. */
const MAX_MERGE_MESSAGE_CHARS = 2000;

/**
 * Merge requests between `done` and the merge callback: hand-over to the rig's refinery, the
 * refinery's approval (`gt_done {branch, mergeRequestBeadId, commit}` → the container merges that
 * commit), re-queues and give-ups. The merge callback itself is WorkService.mergeResult.
 */
export class ReviewService {
  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
    private readonly work: WorkService,
  ) {}

  /**
   * The refinery approves `commit`, the commit it reviewed: the merge request goes `in_progress` and
   * the container is asked to merge exactly that commit (`POST /git/merge`); the outcome arrives
   * later as the merge callback. A commit other than the one the merge request names (its
   * `metadata.commit`, recorded at the polecat's gt_done) → 409 changed_since_review, nothing
   * changes. Idempotent while the merge runs. A container that does not take the merge puts the
   * request back to `open` and the error reaches the refinery.
   */
  async approve(
    refinery: AgentRecord,
    args: { branch: string; summary: string; mergeRequestBeadId?: string | undefined; commit?: string | undefined },
  ): Promise<Bead> {
    const { repos, clock, container } = this.ctx;
    if (!args.mergeRequestBeadId) throw new GastownError('validation_failed', 'mergeRequestBeadId: a refinery approves a merge request by its id');
    if (!args.commit) throw new GastownError('validation_failed', "commit: name the commit you reviewed (the merge request's metadata.commit, 40 hex digits)");
    const commit = args.commit;
    const mr = this.work.mergeRequest(args.mergeRequestBeadId, refinery);
    if (mr.status === 'in_progress' && mr.metadata.approvedBy === refinery.id) {
      if (mr.metadata.approvedCommit === commit) return mr;
      throw new GastownError('conflict', `merge request ${mr.id} is already being merged at commit ${String(mr.metadata.approvedCommit)}`);
    }
    if (mr.status !== 'open') throw new GastownError('conflict', `merge request ${mr.id} is ${mr.status}; only an open merge request can be approved`);
    if (mr.metadata.branch !== args.branch)
      throw new GastownError('conflict', `merge request ${mr.id} is for branch ${String(mr.metadata.branch)}, not ${args.branch}`);
    const submitted = typeof mr.metadata.commit === 'string' ? mr.metadata.commit : null;
    if (submitted !== null && submitted !== commit) {
      throw new GastownError(
        'changed_since_review',
        `merge request ${mr.id} is at commit ${submitted}, not ${commit}: review ${submitted} and approve it by that commit`,
      );
    }
    const rig = this.town.rig(refinery.rigId!);
    const now = clock.now();
    const approved = this.ctx.transaction(() => {
      const updated = repos.beads.update(
        mr.id,
        {
          status: 'in_progress',
          assigneeId: refinery.id,
          metadata: {
            ...mr.metadata,
            approvedBy: refinery.id,
            approvedAt: now,
            approvedGen: refinery.gen,
            approvedCommit: commit,
            reviewGen: refinery.gen,
            approval: args.summary.slice(0, 2000),
          },
        },
        now,
      );
      this.ctx.event({ type: 'merge_request.approved', agentId: refinery.id, beadId: mr.id, data: { branch: args.branch, commit } });
      return updated;
    });
    const rigRef: RigRef = rigRefOf(rig);
    const source = this.work.sourceOf(mr);
    const message = `Merge ${args.branch}${source ? `: ${source.title}` : ''}\n\nMerge request ${mr.id}${source ? `, bead ${source.id}` : ''}, approved by ${refinery.name}.`;
    try {
      await container.merge({
        agentId: refinery.id,
        rig: rigRef,
        mergeRequestBeadId: mr.id,
        branch: args.branch,
        commit,
        message: message.slice(0, MAX_MERGE_MESSAGE_CHARS),
        // pull_request: the container pushes the approved commit and reports `pushed`; the town opens the pull request
        strategy: rig.mergeStrategy,
      });
    } catch (err) {
      const error = asGastownError(err, 'upstream_failed', 'the container did not accept the merge');
      this.ctx.transaction(() => {
        const current = this.work.bead(mr.id);
        if (current.status === 'in_progress') {
          repos.beads.update(
            mr.id,
            { status: 'open', metadata: { ...current.metadata, approvedBy: null, approvedGen: null, approvedCommit: null } },
            clock.now(),
          );
        }
        this.ctx.event({
          type: 'merge_request.merge_failed_to_start',
          agentId: refinery.id,
          beadId: mr.id,
          data: { code: error.code, message: error.message.slice(0, 500) },
        });
      });
      throw error;
    }
    this.ctx.event({ type: 'merge_request.merge_started', agentId: refinery.id, beadId: mr.id, data: { branch: args.branch, commit } });
    return this.work.bead(approved.id);
  }

  /** The merge request went to this refinery run (started with it, or delivered to it). */
  markHandedOver(mergeRequestBeadId: string, refinery: AgentRecord): void {
    const mr = this.work.bead(mergeRequestBeadId);
    if (mr.status !== 'open') return;
    this.ctx.transaction(() => {
      this.ctx.repos.beads.update(
        mr.id,
        { assigneeId: refinery.id, metadata: { ...mr.metadata, reviewGen: refinery.gen, reviewRetryAt: null } },
        this.ctx.clock.now(),
      );
      this.ctx.event({ type: 'merge_request.review_started', agentId: refinery.id, beadId: mr.id, data: { gen: refinery.gen } });
    });
  }

  /**
   * A reissue moved a refinery run to a new generation: the merge requests handed to it (or approved
   * by it) under the previous one are still this run's. Call inside the reissue's transaction.
   */
  followGeneration(refineryId: string, previousGen: number, gen: number): void {
    const now = this.ctx.clock.now();
    for (const mr of this.ctx.repos.beads.list({ type: 'merge_request' })) {
      if (mr.assigneeId !== refineryId || (mr.status !== 'open' && mr.status !== 'in_progress')) continue;
      const metadata = { ...mr.metadata };
      if (metadata.reviewGen === previousGen) metadata.reviewGen = gen;
      if (metadata.approvedGen === previousGen) metadata.approvedGen = gen;
      if (metadata.reviewGen !== mr.metadata.reviewGen || metadata.approvedGen !== mr.metadata.approvedGen)
        this.ctx.repos.beads.update(mr.id, { metadata }, now);
    }
  }

  /** Not handed over yet, through no failure (the refinery run is ending): try again after `pauseMs`, no attempt spent. */
  deferHandOver(mergeRequestBeadId: string, reason: string, pauseMs: number): void {
    const mr = this.work.bead(mergeRequestBeadId);
    if (mr.status !== 'open') return;
    const now = this.ctx.clock.now();
    this.ctx.transaction(() => {
      this.ctx.repos.beads.update(mr.id, { metadata: { ...mr.metadata, reviewRetryAt: now + pauseMs } }, now);
      this.ctx.event({ type: 'merge_request.review_deferred', beadId: mr.id, agentId: null, data: { reason, retryAt: now + pauseMs } });
    });
  }

  /** A hand-over failed: try again after a backoff (the reconciler gives up after the attempt cap). */
  handOverFailed(mergeRequestBeadId: string, error: GastownError): void {
    const { settings, clock } = this.ctx;
    const mr = this.work.bead(mergeRequestBeadId);
    if (mr.status !== 'open') return;
    const attempts = reviewAttemptsOf(mr) + 1;
    const now = clock.now();
    this.ctx.transaction(() => {
      this.ctx.repos.beads.update(
        mr.id,
        {
          assigneeId: null,
          metadata: {
            ...mr.metadata,
            reviewGen: null,
            reviewAttempts: attempts,
            reviewRetryAt: now + backoffMs(attempts, settings.backoffBaseMs, settings.backoffMaxMs),
          },
        },
        now,
      );
      this.ctx.event({
        type: 'merge_request.review_handover_failed',
        beadId: mr.id,
        agentId: null,
        data: { attempts, code: error.code, message: error.message.slice(0, 500) },
      });
    });
  }

  /** The run that approved (or was reviewing) it is gone: open again, for a new review. */
  requeue(mergeRequestBeadId: string, reason: string): void {
    const mr = this.work.bead(mergeRequestBeadId);
    if (mr.status !== 'open' && mr.status !== 'in_progress') return;
    this.ctx.transaction(() => {
      this.ctx.repos.beads.update(
        mr.id,
        { status: 'open', assigneeId: null, metadata: { ...mr.metadata, reviewGen: null, approvedBy: null, approvedGen: null, approvedCommit: null } },
        this.ctx.clock.now(),
      );
      this.ctx.event({ type: 'merge_request.requeued', beadId: mr.id, agentId: null, data: { from: mr.status, reason } });
    });
  }

  /** Hand-overs kept failing: the merge request fails, its source bead fails, and the humans are told. */
  giveUp(mergeRequestBeadId: string, reason: string): void {
    const mr = this.work.bead(mergeRequestBeadId);
    if (mr.status !== 'open' && mr.status !== 'in_progress') return;
    const now = this.ctx.clock.now();
    this.ctx.transaction(() => {
      this.ctx.repos.beads.update(mr.id, { status: 'failed', metadata: { ...mr.metadata, resolution: 'review_failed', message: reason } }, now);
      const source = this.work.sourceOf(mr);
      if (source && source.status !== 'closed' && source.status !== 'failed')
        this.ctx.repos.beads.update(source.id, { status: 'failed', assigneeId: null }, now);
      this.ctx.event({ type: 'merge_request.failed', beadId: mr.id, agentId: null, data: { outcome: 'review_failed', sourceBeadId: source?.id ?? null } });
      this.work.escalateAsTown({
        rigId: mr.rigId,
        title: `No refinery could review: ${mr.title}`.slice(0, 200),
        body: reason,
        severity: 'high',
        relatedBeadId: mr.id,
      });
    });
  }
}

export function reviewAttemptsOf(mr: Bead): number {
  const n = mr.metadata.reviewAttempts;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0;
}

/** What the container is told of a rig (never a secret: the auth kind only). */
export function rigRefOf(rig: Rig): RigRef {
  return { id: rig.id, name: rig.name, gitUrl: rig.gitUrl, defaultBranch: rig.defaultBranch, auth: rig.auth.kind };
}
