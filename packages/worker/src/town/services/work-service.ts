import { CredentialError, GastownError, type Bead, type BeadStatus } from '@gastown/protocol';
import { appendToMetadataList, retryTransition, unavailableTransition } from '../bead-rules';
import { polecatBranch } from '../briefings';
import { PR_KEYS, pullRequestOf } from '../pull-request-rules';
import type { AgentRecord } from '../repositories/agent-repository';
import type { TownContext } from './context';
import type { MailService } from './mail-service';
import type { TownService } from './town-service';

export type MergeOutcome = 'merged' | 'pushed' | 'conflict' | 'failed' | 'changed_since_review';

/** Beads through their life: sling → done → review → merge, plus escalations. */
export class WorkService {
  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
    private readonly mail: MailService,
  ) {}

  list(filter: { status?: BeadStatus; rigId?: string } = {}): Bead[] {
    return this.ctx.repos.beads.list(filter);
  }

  bead(beadId: string): Bead {
    const bead = this.ctx.repos.beads.get(beadId);
    if (!bead) throw new GastownError('not_found', 'bead not found');
    return bead;
  }

  /**
   * A polecat finished its bead on its branch: a merge request for the refinery; the bead goes to
   * review. Only the polecat's own branch `gt/<agentId>/<beadId>` (another → 403 token_scope: a
   * polecat's credentials reach its own work only). `commit` is the tip the container copied out of
   * the polecat's repository (packages/container/src/supervisor/branch-submission.ts); the merge
   * request records it as `metadata.commit`, the commit the refinery reviews and approves.
   * Idempotent; a repeated call with a new commit (the polecat submitted again) records that commit.
   */
  done(polecat: AgentRecord, args: { branch: string; summary: string; commit?: string | undefined }): Bead {
    const { repos, clock } = this.ctx;
    if (!polecat.beadId) throw new GastownError('conflict', 'this polecat has no hooked bead');
    const own = polecatBranch(polecat.id, polecat.beadId);
    if (args.branch !== own) throw new CredentialError('token_scope', `a polecat submits only its own branch ${own}, not ${args.branch}`);
    const source = this.bead(polecat.beadId);
    const commit = args.commit ?? null;
    const existing = repos.beads.findOpenMergeRequest(source.id, own);
    if (existing) return commit === null || existing.metadata.commit === commit ? existing : this.resubmitted(polecat, existing, commit);
    if (source.status !== 'in_progress' && source.status !== 'open') {
      throw new GastownError('conflict', `bead ${source.id} is ${source.status}; it cannot be submitted for review`);
    }
    const now = clock.now();
    return this.ctx.transaction(() => {
      const mr = repos.beads.insert({
        id: this.ctx.ids('bd'),
        rigId: source.rigId,
        type: 'merge_request',
        status: 'open',
        title: `Merge ${own}: ${source.title}`.slice(0, 200),
        body: args.summary,
        assigneeId: null,
        metadata: { sourceBeadId: source.id, branch: own, commit, polecatId: polecat.id },
        now,
      });
      repos.beads.update(source.id, { status: 'in_review', metadata: { ...source.metadata, branch: own, commit, mergeRequestId: mr.id } }, now);
      this.ctx.event({ type: 'merge_request.created', agentId: polecat.id, beadId: mr.id, data: { sourceBeadId: source.id, branch: own, commit } });
      return mr;
    });
  }

  /** The polecat submitted its branch again: the merge request now names the new commit (a running review or merge of the old one fails changed_since_review). */
  private resubmitted(polecat: AgentRecord, mr: Bead, commit: string): Bead {
    return this.ctx.transaction(() => {
      const updated = this.ctx.repos.beads.update(mr.id, { metadata: { ...mr.metadata, commit } }, this.ctx.clock.now());
      this.ctx.event({ type: 'merge_request.resubmitted', agentId: polecat.id, beadId: mr.id, data: { from: mr.metadata.commit ?? null, commit } });
      return updated;
    });
  }

  /** The refinery sends work back: the merge request fails, the source bead reopens with the feedback. */
  requestChanges(refinery: AgentRecord, args: { mergeRequestBeadId: string; feedback: string }): Bead {
    const { repos, clock } = this.ctx;
    const mr = this.mergeRequest(args.mergeRequestBeadId, refinery);
    if (mr.status !== 'open' && mr.status !== 'in_progress') throw new GastownError('conflict', `merge request ${mr.id} is already ${mr.status}`);
    const now = clock.now();
    const feedback = { at: now, from: refinery.id, feedback: args.feedback };
    return this.ctx.transaction(() => {
      const updated = repos.beads.update(
        mr.id,
        { status: 'failed', metadata: { ...mr.metadata, resolution: 'changes_requested', feedback: args.feedback } },
        now,
      );
      const source = this.sourceOf(mr);
      if (source && source.status !== 'closed') {
        repos.beads.update(source.id, { status: 'open', assigneeId: null, metadata: appendToMetadataList(source.metadata, 'reviewFeedback', feedback) }, now);
      }
      const polecatId = typeof mr.metadata.polecatId === 'string' ? mr.metadata.polecatId : null;
      if (polecatId && repos.agents.get(polecatId)) {
        this.mail.deliver(refinery.id, polecatId, `Changes requested: ${mr.title}`.slice(0, 200), args.feedback);
      }
      this.ctx.event({ type: 'merge_request.changes_requested', agentId: refinery.id, beadId: mr.id, data: { sourceBeadId: source?.id ?? null } });
      return updated;
    });
  }

  /**
   * The container reports how a merge went. Idempotent: a settled merge request is returned as it is.
   * `changed_since_review`: nothing was merged because the branch is no longer at the approved commit
   * (`commitSha` is where it is now): the merge request goes back to review at that commit, its
   * source bead stays in review.
   */
  mergeResult(
    refinery: AgentRecord,
    args: { mergeRequestBeadId: string; outcome: MergeOutcome; commitSha: string | null; message: string },
  ): { mergeRequest: Bead; sourceBead: Bead | null } {
    const { repos, clock } = this.ctx;
    const mr = this.mergeRequest(args.mergeRequestBeadId, refinery);
    if (mr.status === 'closed' || mr.status === 'failed') return { mergeRequest: mr, sourceBead: this.sourceOf(mr) };
    const now = clock.now();
    return this.ctx.transaction(() => {
      const source = this.sourceOf(mr);
      if (args.outcome === 'changed_since_review') {
        const commit = args.commitSha ?? (typeof mr.metadata.commit === 'string' ? mr.metadata.commit : null);
        const reopened = repos.beads.update(
          mr.id,
          {
            status: 'open',
            assigneeId: null,
            metadata: { ...mr.metadata, commit, reviewGen: null, approvedBy: null, approvedGen: null, approvedCommit: null },
          },
          now,
        );
        this.ctx.event({
          type: 'merge_request.changed_since_review',
          agentId: refinery.id,
          beadId: mr.id,
          data: { approvedCommit: mr.metadata.approvedCommit ?? null, commit, message: args.message.slice(0, 500) },
        });
        return { mergeRequest: reopened, sourceBead: source };
      }
      if (args.outcome === 'pushed') {
        // pull-request strategy: the approved commit is on the branch at the rig; the merge request waits
        // (in progress, no longer the refinery's) for its pull request to be opened and merged by a human
        if (mr.status === 'in_progress' && (mr.metadata[PR_KEYS.pending] === true || pullRequestOf(mr) !== null))
          return { mergeRequest: mr, sourceBead: source };
        const pushedCommit = typeof mr.metadata.approvedCommit === 'string' ? mr.metadata.approvedCommit : args.commitSha;
        const pushed = repos.beads.update(
          mr.id,
          {
            status: 'in_progress',
            assigneeId: null,
            metadata: { ...mr.metadata, [PR_KEYS.pushedCommit]: pushedCommit, [PR_KEYS.pending]: true, [PR_KEYS.retryAt]: null, [PR_KEYS.openAttempts]: 0 },
          },
          now,
        );
        this.ctx.event({ type: 'merge_request.pushed', agentId: refinery.id, beadId: mr.id, data: { sourceBeadId: source?.id ?? null, commit: pushedCommit } });
        return { mergeRequest: pushed, sourceBead: source };
      }
      if (args.outcome === 'merged') {
        const merged = repos.beads.update(mr.id, { status: 'closed', metadata: { ...mr.metadata, resolution: 'merged', commitSha: args.commitSha } }, now);
        const closed = source ? repos.beads.update(source.id, { status: 'closed', metadata: { ...source.metadata, commitSha: args.commitSha } }, now) : null;
        this.ctx.event({
          type: 'merge_request.merged',
          agentId: refinery.id,
          beadId: mr.id,
          data: { sourceBeadId: source?.id ?? null, commitSha: args.commitSha },
        });
        return { mergeRequest: merged, sourceBead: closed };
      }
      const failed = repos.beads.update(mr.id, { status: 'failed', metadata: { ...mr.metadata, resolution: args.outcome, message: args.message } }, now);
      const reopened =
        source && source.status !== 'closed'
          ? repos.beads.update(
              source.id,
              {
                status: 'open',
                assigneeId: null,
                metadata: appendToMetadataList(source.metadata, 'mergeFailures', { at: now, outcome: args.outcome, message: args.message }),
              },
              now,
            )
          : source;
      this.ctx.event({ type: 'merge_request.failed', agentId: refinery.id, beadId: mr.id, data: { outcome: args.outcome, sourceBeadId: source?.id ?? null } });
      if (args.outcome === 'conflict') {
        this.escalate(refinery, {
          title: `Merge conflict: ${mr.title}`.slice(0, 200),
          body: args.message,
          severity: 'medium',
          relatedBeadId: mr.id,
        });
      }
      return { mergeRequest: failed, sourceBead: reopened };
    });
  }

  escalate(by: AgentRecord, args: { title: string; body: string; severity: 'low' | 'medium' | 'high'; relatedBeadId?: string | null }): Bead {
    return this.ctx.transaction(() => {
      const bead = this.ctx.repos.beads.insert({
        id: this.ctx.ids('bd'),
        rigId: by.rigId,
        type: 'escalation',
        status: 'open',
        title: args.title,
        body: args.body,
        assigneeId: null,
        metadata: { severity: args.severity, fromAgentId: by.id, relatedBeadId: args.relatedBeadId ?? by.beadId },
        now: this.ctx.clock.now(),
      });
      this.ctx.event({ type: 'escalation.created', agentId: by.id, beadId: bead.id, data: { severity: args.severity, title: args.title } });
      return bead;
    });
  }

  /**
   * A failed attempt at an issue bead (start failure, lost run, released by the reconciler): open
   * again after a backoff, or `failed` with an escalation once the attempts are used up.
   */
  retryIssue(beadId: string, reason: string, agentId: string | null = null, countAttempt = true): Bead {
    const { repos, clock, settings } = this.ctx;
    const bead = this.bead(beadId);
    if (bead.status === 'closed' || bead.status === 'failed' || bead.status === 'in_review') return bead;
    const now = clock.now();
    return this.ctx.transaction(() => {
      const next = retryTransition(bead, now, settings, countAttempt);
      const updated = repos.beads.update(bead.id, { ...next, metadata: withLastFailure(next.metadata, reason, now) }, now);
      this.ctx.event({
        type: 'bead.status_changed',
        agentId,
        beadId: bead.id,
        data: { from: bead.status, to: updated.status, attempts: updated.attempts, reason: reason.slice(0, 500) },
      });
      if (updated.status === 'failed') this.escalateBeadFailure(updated, reason);
      return updated;
    });
  }

  /**
   * A start the town's container could not take: the bead waits for it without spending an attempt
   * (bead-rules.ts unavailableTransition); past the free tries it is an ordinary failed attempt.
   */
  retryIssueWhenContainerUnavailable(beadId: string, reason: string, agentId: string, attemptCounted: boolean): Bead {
    const bead = this.bead(beadId);
    if (bead.status !== 'in_progress') return bead;
    const now = this.ctx.clock.now();
    const next = unavailableTransition(bead, now, attemptCounted);
    if (next === null) return this.retryIssue(beadId, reason, agentId, !attemptCounted);
    return this.ctx.transaction(() => {
      const updated = this.ctx.repos.beads.update(bead.id, { ...next, metadata: withLastFailure(next.metadata, reason, now) }, now);
      this.ctx.event({
        type: 'bead.status_changed',
        agentId,
        beadId: bead.id,
        data: { from: bead.status, to: updated.status, attempts: updated.attempts, reason: reason.slice(0, 500), attemptSpent: false },
      });
      return updated;
    });
  }

  /** An issue bead that used up its attempts: failed, and the humans are told. Idempotent. */
  failIssue(beadId: string, reason: string): Bead {
    const bead = this.bead(beadId);
    if (bead.status === 'failed' || bead.status === 'closed') return bead;
    const now = this.ctx.clock.now();
    return this.ctx.transaction(() => {
      const updated = this.ctx.repos.beads.update(bead.id, { status: 'failed', assigneeId: null, metadata: withLastFailure(bead.metadata, reason, now) }, now);
      this.ctx.event({
        type: 'bead.status_changed',
        beadId: bead.id,
        agentId: null,
        data: { from: bead.status, to: 'failed', attempts: bead.attempts, reason: reason.slice(0, 500) },
      });
      this.escalateBeadFailure(updated, reason);
      return updated;
    });
  }

  /** The escalation raised when a bead fails for good (no agent raised it: fromAgentId null). */
  escalateBeadFailure(bead: Bead, reason: string): Bead {
    return this.escalateAsTown({
      rigId: bead.rigId,
      title: `Bead failed after ${bead.attempts} attempts: ${bead.title}`.slice(0, 200),
      body: reason.slice(0, 2000),
      severity: 'high',
      relatedBeadId: bead.id,
    });
  }

  /** An escalation raised by the town itself (the reconciler), not by an agent. */
  escalateAsTown(args: { rigId: string | null; title: string; body: string; severity: 'low' | 'medium' | 'high'; relatedBeadId: string | null }): Bead {
    return this.ctx.transaction(() => {
      const bead = this.ctx.repos.beads.insert({
        id: this.ctx.ids('bd'),
        rigId: args.rigId,
        type: 'escalation',
        status: 'open',
        title: args.title,
        body: args.body,
        assigneeId: null,
        metadata: { severity: args.severity, fromAgentId: null, relatedBeadId: args.relatedBeadId },
        now: this.ctx.clock.now(),
      });
      this.ctx.event({ type: 'escalation.created', agentId: null, beadId: bead.id, data: { severity: args.severity, title: args.title } });
      return bead;
    });
  }

  /** A merge request bead this refinery may act on (same rig). */
  mergeRequest(beadId: string, refinery: AgentRecord): Bead {
    const mr = this.bead(beadId);
    if (mr.type !== 'merge_request') throw new GastownError('conflict', `bead ${mr.id} is not a merge request`);
    if (mr.rigId !== refinery.rigId) throw new GastownError('not_found', 'merge request not found in this rig');
    return mr;
  }

  sourceOf(mr: Bead): Bead | null {
    const id = mr.metadata.sourceBeadId;
    return typeof id === 'string' ? this.ctx.repos.beads.get(id) : null;
  }
}

/**
 * Bead metadata with why its last attempt failed (`lastFailure {reason, at}`), shown by `gastown
 * beads`/`status` and the dashboard; the reason is already secret-free (redacted container output
 * or a typed error's message), and cut to 500 characters.
 */
function withLastFailure(metadata: Record<string, unknown>, reason: string, at: number): Record<string, unknown> {
  return { ...metadata, lastFailure: { reason: reason.slice(0, 500), at } };
}
