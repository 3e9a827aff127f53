import { asGastownError, GastownError, type Bead, type GitProviderKind, type PullRequestRef } from '@gastown/protocol';
import { interpretWebhook, verifyGitHubSignature, verifyGitLabToken, type PullRequestInfo } from '../../git-host';
import { appendToMetadataList, backoffMs, retryTransition } from '../bead-rules';
import { closedUnmergedFeedback, PR_KEYS, pullRequestBody, pullRequestOf, pullRequestStage } from '../pull-request-rules';
import type { TownContext } from './context';
import type { RigService } from './rig-service';
import type { TownService } from './town-service';
import type { WorkService } from './work-service';

/** Deliveries are remembered this long (GitHub redelivers for a few days at most). */
export const WEBHOOK_DELIVERY_RETENTION_MS = 7 * 24 * 3600_000;

export interface WebhookInput {
  provider: GitProviderKind;
  rigId: string;
  /** X-GitHub-Event / X-Gitlab-Event. */
  event: string | null;
  /** X-GitHub-Delivery / X-Gitlab-Event-UUID (null: no dedupe beyond the state checks). */
  deliveryId: string | null;
  /** X-Hub-Signature-256 (GitHub). */
  signature: string | null;
  /** X-Gitlab-Token (GitLab). */
  token: string | null;
  body: Uint8Array;
}

export type WebhookOutcome = 'merged' | 'closed' | 'ignored' | 'duplicate';

export interface WebhookResult {
  outcome: WebhookOutcome;
  mergeRequestBeadId: string | null;
}

type Settlement = { state: 'merged' | 'closed'; mergeCommitSha: string | null; via: 'webhook' | 'poll' };

/**
 * The pull-request strategy after the container pushed the approved commit: open the pull request
 * (title and body from the source bead), record it on the merge request and its source bead, and
 * follow it — by webhook and by polling in the alarm — until a human merges it (both beads
 * closed) or closes it (the source bead back to open with one attempt spent and the closure as
 * review feedback, or failed and escalated at the cap; the merge request closed).
 */
export class PullRequestService {
  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
    private readonly work: WorkService,
    private readonly rigs: RigService,
  ) {}

  /**
   * Open the pull request of a pushed merge request. Idempotent (a merge request that has one, or is
   * settled, is returned as it is). A failure is recorded, escalated once, and retried by the alarm
   * after a backoff; it is not thrown (the push itself succeeded).
   */
  async open(mergeRequestBeadId: string): Promise<Bead> {
    const { ctx } = this;
    const mr = this.work.bead(mergeRequestBeadId);
    if (pullRequestStage(mr) !== 'pending_open' || mr.rigId === null) return mr;
    const rig = this.town.rig(mr.rigId);
    const source = this.work.sourceOf(mr);
    const branch = String(mr.metadata.branch ?? '');
    const commit = String(mr.metadata[PR_KEYS.pushedCommit] ?? mr.metadata.approvedCommit ?? '');
    let info: PullRequestInfo;
    try {
      const host = this.rigs.gitHost(rig.id);
      info = await host.createPullRequest({
        head: branch,
        base: rig.defaultBranch,
        title: (source?.title ?? mr.title).slice(0, 250),
        body: pullRequestBody(source, mr.id, branch, commit),
      });
    } catch (err) {
      this.openFailed(mr.id, asGastownError(err, 'upstream_failed', 'the pull request could not be opened'));
      return this.work.bead(mr.id);
    }
    const now = ctx.clock.now();
    ctx.transaction(() => {
      const current = this.work.bead(mr.id);
      if (pullRequestStage(current) !== 'pending_open') return;
      const ref: PullRequestRef = {
        provider: rig.provider.kind ?? 'github',
        number: info.number,
        url: info.url,
        state: 'open',
        commit: /^[0-9a-f]{40}$/.test(commit) ? commit : info.headSha,
        openedAt: now,
        updatedAt: now,
      };
      ctx.repos.beads.update(
        mr.id,
        { metadata: { ...current.metadata, [PR_KEYS.ref]: ref, [PR_KEYS.pending]: false, [PR_KEYS.retryAt]: null, [PR_KEYS.polledAt]: now } },
        now,
      );
      const src = this.work.sourceOf(current);
      if (src) ctx.repos.beads.update(src.id, { metadata: { ...src.metadata, [PR_KEYS.ref]: ref } }, now);
      ctx.event({ type: 'pull_request.opened', beadId: mr.id, data: { rigId: rig.id, sourceBeadId: src?.id ?? null, url: info.url, number: info.number } });
    });
    // already merged or closed by the time it was found (an earlier open that was not recorded)
    if (info.state !== 'open') this.settle(mr.id, { state: info.state, mergeCommitSha: info.mergeCommitSha ?? null, via: 'poll' });
    return this.work.bead(mr.id);
  }

  /** Poll an open pull request (the webhook's fallback): merged or closed → the same transitions as the webhook. */
  async poll(mergeRequestBeadId: string): Promise<void> {
    const { ctx } = this;
    const mr = this.work.bead(mergeRequestBeadId);
    const ref = pullRequestOf(mr);
    if (pullRequestStage(mr) !== 'open' || !ref || mr.rigId === null) return;
    let info: PullRequestInfo;
    try {
      info = await this.rigs.gitHost(mr.rigId).getPullRequest(ref.number);
    } catch (err) {
      const error = asGastownError(err, 'upstream_failed', 'the pull request could not be read');
      ctx.transaction(() => {
        const current = this.work.bead(mr.id);
        const failures = (typeof current.metadata[PR_KEYS.pollFailures] === 'number' ? (current.metadata[PR_KEYS.pollFailures] as number) : 0) + 1;
        ctx.repos.beads.update(
          mr.id,
          { metadata: { ...current.metadata, [PR_KEYS.polledAt]: ctx.clock.now(), [PR_KEYS.pollFailures]: failures } },
          ctx.clock.now(),
        );
        // the first of a run of failures is an event; the rest are logged
        if (failures === 1)
          ctx.event({ type: 'pull_request.poll_failed', beadId: mr.id, data: { number: ref.number, code: error.code, message: error.message.slice(0, 500) } });
      });
      ctx.logger.warn({ msg: 'pull request poll failed', townId: ctx.townId, beadId: mr.id, code: error.code });
      return;
    }
    if (info.state === 'open') {
      ctx.transaction(() => {
        const current = this.work.bead(mr.id);
        if (pullRequestStage(current) !== 'open') return;
        ctx.repos.beads.update(mr.id, { metadata: { ...current.metadata, [PR_KEYS.polledAt]: ctx.clock.now(), [PR_KEYS.pollFailures]: 0 } }, ctx.clock.now());
      });
      return;
    }
    this.settle(mr.id, { state: info.state, mergeCommitSha: info.mergeCommitSha ?? null, via: 'poll' });
  }

  /**
   * A provider webhook for a rig: 404 for an unknown rig (or a provider it is not on), 401
   * webhook_unauthorized for a missing or wrong signature (nothing changes), a delivery seen before
   * changes nothing; a pull request of the rig that closed → settled as by polling.
   */
  async receiveWebhook(input: WebhookInput): Promise<WebhookResult> {
    const { ctx } = this;
    const rig = ctx.repos.rigs.get(input.rigId);
    if (!rig || rig.provider.kind !== input.provider) throw new GastownError('not_found', 'rig not found');
    const { webhookSecret } = ctx.repos.rigs.secrets(rig.id);
    if (webhookSecret === null) throw new GastownError('webhook_unauthorized', 'this rig has no webhook secret: set provider.webhookSecret on the rig');
    const verified =
      input.provider === 'github'
        ? await verifyGitHubSignature(webhookSecret, input.body, input.signature)
        : await verifyGitLabToken(webhookSecret, input.token);
    if (!verified) throw new GastownError('webhook_unauthorized', 'the webhook signature is missing or wrong');
    if (input.deliveryId !== null && ctx.repos.webhookDeliveries.seen(input.deliveryId)) return { outcome: 'duplicate', mergeRequestBeadId: null };
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder().decode(input.body));
    } catch {
      throw new GastownError('bad_json', 'the webhook body is not JSON');
    }
    const change = interpretWebhook(input.provider, input.event, payload);
    const now = ctx.clock.now();
    return ctx.transaction(() => {
      if (input.deliveryId !== null) {
        ctx.repos.webhookDeliveries.record(input.deliveryId, rig.id, (input.event ?? 'unknown').slice(0, 100), now);
        ctx.repos.webhookDeliveries.prune(now - WEBHOOK_DELIVERY_RETENTION_MS);
      }
      if (change.kind === 'ignored') return { outcome: 'ignored', mergeRequestBeadId: null };
      if (change.repository !== null && rig.provider.repository !== null && change.repository.toLowerCase() !== rig.provider.repository.toLowerCase())
        return { outcome: 'ignored', mergeRequestBeadId: null };
      const mr = this.work
        .list({ rigId: rig.id, status: 'in_progress' })
        .find((b) => b.type === 'merge_request' && pullRequestOf(b)?.number === change.number && pullRequestStage(b) === 'open');
      if (!mr) return { outcome: 'ignored', mergeRequestBeadId: null };
      const state = change.merged ? 'merged' : 'closed';
      const settled = this.settle(mr.id, { state, mergeCommitSha: change.mergeCommitSha, via: 'webhook' });
      return { outcome: settled ? state : 'ignored', mergeRequestBeadId: mr.id };
    });
  }

  /** Merged or closed: both beads move (once: a settled merge request is left alone). Returns whether anything changed. */
  private settle(mergeRequestBeadId: string, settlement: Settlement): boolean {
    const { ctx } = this;
    return ctx.transaction(() => {
      const mr = this.work.bead(mergeRequestBeadId);
      const ref = pullRequestOf(mr);
      if (pullRequestStage(mr) !== 'open' || !ref) return false;
      const now = ctx.clock.now();
      const settled: PullRequestRef = { ...ref, state: settlement.state, updatedAt: now };
      const source = this.work.sourceOf(mr);
      const data = { rigId: mr.rigId, sourceBeadId: source?.id ?? null, url: ref.url, number: ref.number, via: settlement.via };
      if (settlement.state === 'merged') {
        ctx.repos.beads.update(
          mr.id,
          { status: 'closed', metadata: { ...mr.metadata, [PR_KEYS.ref]: settled, resolution: 'merged', commitSha: settlement.mergeCommitSha } },
          now,
        );
        if (source && source.status !== 'closed' && source.status !== 'failed')
          ctx.repos.beads.update(
            source.id,
            { status: 'closed', metadata: { ...source.metadata, [PR_KEYS.ref]: settled, commitSha: settlement.mergeCommitSha } },
            now,
          );
        ctx.event({ type: 'pull_request.merged', beadId: mr.id, data: { ...data, commitSha: settlement.mergeCommitSha } });
        return true;
      }
      ctx.repos.beads.update(mr.id, { status: 'closed', metadata: { ...mr.metadata, [PR_KEYS.ref]: settled, resolution: 'pull_request_closed' } }, now);
      const feedback = closedUnmergedFeedback(ref.number);
      let sourceStatus: string | null = source?.status ?? null;
      if (source && source.status !== 'closed' && source.status !== 'failed') {
        const next = retryTransition(source, now, ctx.settings);
        const metadata = appendToMetadataList({ ...next.metadata, [PR_KEYS.ref]: settled }, 'reviewFeedback', { at: now, from: 'pull_request', feedback });
        const updated = ctx.repos.beads.update(source.id, { status: next.status, attempts: next.attempts, assigneeId: null, metadata }, now);
        sourceStatus = updated.status;
        ctx.event({
          type: 'bead.status_changed',
          beadId: source.id,
          agentId: null,
          data: { from: source.status, to: updated.status, attempts: updated.attempts, reason: feedback },
        });
        if (updated.status === 'failed') this.work.escalateBeadFailure(updated, feedback);
      }
      ctx.event({ type: 'pull_request.closed', beadId: mr.id, data: { ...data, sourceStatus } });
      return true;
    });
  }

  /** Opening failed: recorded, escalated on the first failure, retried by the alarm after a backoff. */
  private openFailed(mergeRequestBeadId: string, error: GastownError): void {
    const { ctx } = this;
    const now = ctx.clock.now();
    ctx.transaction(() => {
      const mr = this.work.bead(mergeRequestBeadId);
      if (pullRequestStage(mr) !== 'pending_open') return;
      const previous = typeof mr.metadata[PR_KEYS.openAttempts] === 'number' ? (mr.metadata[PR_KEYS.openAttempts] as number) : 0;
      const attempts = previous + 1;
      const retryAt = now + backoffMs(attempts, ctx.settings.backoffBaseMs, ctx.settings.backoffMaxMs);
      ctx.repos.beads.update(mr.id, { metadata: { ...mr.metadata, [PR_KEYS.openAttempts]: attempts, [PR_KEYS.retryAt]: retryAt } }, now);
      ctx.event({ type: 'pull_request.open_failed', beadId: mr.id, data: { attempts, retryAt, code: error.code, message: error.message.slice(0, 500) } });
      if (attempts === 1) {
        this.work.escalateAsTown({
          rigId: mr.rigId,
          title: `Pull request not opened: ${mr.title}`.slice(0, 200),
          body: `${error.message}\n\nThe branch ${String(mr.metadata.branch)} is pushed; the town retries opening the pull request (next at ${new Date(retryAt).toISOString()}).`.slice(
            0,
            2000,
          ),
          severity: 'medium',
          relatedBeadId: mr.id,
        });
      }
    });
    ctx.logger.warn({ msg: 'pull request not opened', townId: ctx.townId, beadId: mergeRequestBeadId, code: error.code });
  }
}
