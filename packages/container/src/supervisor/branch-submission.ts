/**
 * A polecat's gt_done is where its work leaves its own repository. Before the call reaches the
 * control plane the container copies the run's branch out of the agent's repository into the rig's
 * mirror (a ref no agent can write) and puts the commit it copied into the call: the merge request
 * then names that commit, and only that copy is ever pushed or merged.
 *
 * What the agent says is not trusted: a branch other than the run's own is refused (403
 * token_scope, as the control plane would), and any `commit` it sent is replaced.
 */
import { GastownError, TOOLS, type ToolName } from '@gastown/protocol';
import type { ControlPlaneClient } from '../broker/control-plane-client';

export interface BranchSubmission {
  /** The run's own branch, gt/<agentId>/<beadId>. */
  branch: string;
  /** Copy the branch into the container's repository; resolves with the commit copied. */
  submit(): Promise<string>;
}

/** `client`, except that a polecat's `done` submits its branch first. Every other call passes through. */
export function withBranchSubmission(client: ControlPlaneClient, submission: BranchSubmission): ControlPlaneClient {
  return {
    heartbeat: (body) => client.heartbeat(body),
    events: (events) => client.events(events),
    completion: (body) => client.completion(body),
    mergeResult: (body) => client.mergeResult(body),
    putSession: (snapshot) => client.putSession(snapshot),
    getSession: () => client.getSession(),
    gitToken: (rigId) => client.gitToken(rigId),
    async tool(name: ToolName, args: unknown): Promise<unknown> {
      if (name !== 'done') return client.tool(name, args);
      const parsed = TOOLS.done.args.safeParse(args);
      // an approval (mergeRequestBeadId) or a malformed call: the control plane refuses it with its own answer
      if (!parsed.success || parsed.data.mergeRequestBeadId !== undefined) return client.tool(name, args);
      if (parsed.data.branch !== submission.branch) {
        throw new GastownError('token_scope', `a polecat submits only its own branch ${submission.branch}, not ${parsed.data.branch}`);
      }
      const commit = await submission.submit();
      return client.tool('done', { ...parsed.data, commit });
    },
  };
}
