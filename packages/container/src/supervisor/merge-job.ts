import type { MergeRequest, MergeResultRequest } from '@gastown/protocol';
import type { GitWorkspace } from '../git/git-workspace';
import type { Logger } from '../log/logger';
import type { AgentRun } from './agent-run';

const MAX_MESSAGE_CHARS = 4000;

/**
 * The merge callback consumer: merge in the container, then report the outcome through
 * the refinery's authenticated client. Never rejects; a lost report is logged as an error.
 */
export async function runMerge(options: { request: MergeRequest; run: AgentRun; git: GitWorkspace; logger: Logger }): Promise<void> {
  const { request, run, git, logger } = options;
  const log = logger.child({ mergeRequestBeadId: request.mergeRequestBeadId, branch: request.branch, commit: request.commit });
  let body: MergeResultRequest;
  try {
    const result = await git.merge(request.rig, request.branch, request.message, request.commit, { strategy: request.strategy });
    body =
      result.outcome === 'merged' || result.outcome === 'pushed'
        ? { mergeRequestBeadId: request.mergeRequestBeadId, outcome: result.outcome, commitSha: result.commitSha, message: '' }
        : result.outcome === 'changed_since_review'
          ? // the branch's tip now: the control plane sends the merge request back to review at that commit
            {
              mergeRequestBeadId: request.mergeRequestBeadId,
              outcome: 'changed_since_review',
              commitSha: result.branchCommit,
              message: result.message.slice(0, MAX_MESSAGE_CHARS),
            }
          : { mergeRequestBeadId: request.mergeRequestBeadId, outcome: result.outcome, commitSha: null, message: result.message.slice(0, MAX_MESSAGE_CHARS) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    body = { mergeRequestBeadId: request.mergeRequestBeadId, outcome: 'failed', commitSha: null, message: message.slice(0, MAX_MESSAGE_CHARS) };
  }
  run.sink?.emit('merge.completed', {
    mergeRequestBeadId: request.mergeRequestBeadId,
    branch: request.branch,
    strategy: request.strategy,
    outcome: body.outcome,
    commitSha: body.commitSha ?? null,
  });
  log.info('merge.completed', { outcome: body.outcome, commitSha: body.commitSha ?? null });
  const client = run.client;
  if (!client) {
    log.error('merge.callback_lost', { reason: 'agent has no client' });
    return;
  }
  try {
    await client.mergeResult(body);
  } catch (error) {
    log.error('merge.callback_failed', { outcome: body.outcome, error: error instanceof Error ? error.message : String(error) });
  }
}
