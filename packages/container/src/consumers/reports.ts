/** One-shot reports to the control plane: completion and merge results, retried a few times. */
import type { CompletionRequest, MergeResultRequest } from '@gastown/protocol';
import type { ControlPlaneClient } from '../broker/control-plane-client';
import { withRetry } from './retry';
import type { RetryOptions } from './retry';

export type ReportOptions = Omit<RetryOptions, 'label'>;

export function reportCompletion(client: Pick<ControlPlaneClient, 'completion'>, body: CompletionRequest, options: ReportOptions): Promise<void> {
  return withRetry(() => client.completion(body), { ...options, label: 'completion' });
}

export function reportMergeResult(client: Pick<ControlPlaneClient, 'mergeResult'>, body: MergeResultRequest, options: ReportOptions): Promise<void> {
  return withRetry(() => client.mergeResult(body), { ...options, label: 'merge_result' });
}

/** The same client, with its completion and merge reports retried (full-jitter backoff); other calls pass through. */
export function withReportRetries(client: ControlPlaneClient, options: ReportOptions): ControlPlaneClient {
  return {
    tool: (name, args) => client.tool(name, args),
    heartbeat: (body) => client.heartbeat(body),
    events: (events) => client.events(events),
    completion: (body) => reportCompletion(client, body, options),
    mergeResult: (body) => reportMergeResult(client, body, options),
    putSession: (snapshot) => client.putSession(snapshot),
    getSession: () => client.getSession(),
    gitToken: (rigId) => client.gitToken(rigId),
  };
}
