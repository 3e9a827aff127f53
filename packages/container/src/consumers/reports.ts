/** One-shot reports to the control plane: completion and merge results, retried a few times. */
import type { CompletionRequest, MergeResultRequest } from '@gastown/protocol';
import type { ControlPlaneClient } from '../contracts';
import { withRetry } from './retry';
import type { RetryOptions } from './retry';

export type ReportOptions = Omit<RetryOptions, 'label'>;

export function reportCompletion(client: Pick<ControlPlaneClient, 'completion'>, body: CompletionRequest, options: ReportOptions): Promise<void> {
  return withRetry(() => client.completion(body), { ...options, label: 'completion' });
}

export function reportMergeResult(client: Pick<ControlPlaneClient, 'mergeResult'>, body: MergeResultRequest, options: ReportOptions): Promise<void> {
  return withRetry(() => client.mergeResult(body), { ...options, label: 'merge_result' });
}
