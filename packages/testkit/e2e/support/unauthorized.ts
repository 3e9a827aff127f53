/**
 * Every place a 401 can show up for one town, counted independently:
 * - the model's view: gt_* tool results that failed with a credential code (fake LLM recording);
 * - the container's view: its JSON log lines (`control_plane.unauthorized`, `credential.revoked`,
 *   `credential.refresh_failed`) for the town's container instances (host log);
 * - the control plane's view: wrangler's request lines for the town's routes answered 401;
 * - the broker's own count, reported with every heartbeat (`credential.reported.unauthorizedCount`).
 */
import type { Agent } from '@gastown/protocol';
import { failureCodeOf, UNAUTHORIZED_CODES, type Stack } from '../../src/stack/index';

export interface UnauthorizedReport {
  toolResults: string[];
  containerLines: string[];
  workerLines: string[];
  reportedByBroker: string[];
  total: number;
}

const CONTAINER_401 = /"msg":"(control_plane\.unauthorized|credential\.revoked|credential\.refresh_failed)"/;

export function unauthorizedFor(stack: Stack, townId: string, agents: Agent[], instanceIds: ReadonlySet<string>): UnauthorizedReport {
  const agentIds = new Set(agents.map((a) => a.id));
  const toolResults = (stack.fakeLlm?.requests ?? [])
    .filter((r) => r.agentId !== null && agentIds.has(r.agentId))
    .flatMap((r) => stack.fakeLlm!.toolResults(r.agentId))
    .filter((result, index, all) => all.findIndex((o) => o.toolCallId === result.toolCallId) === index)
    .filter((result) => UNAUTHORIZED_CODES.has(failureCodeOf(result) ?? ''))
    .map((result) => `${result.name}: ${result.content.slice(0, 200)}`);
  const containerLines = stack.logs
    .read(stack.logs.host)
    .split('\n')
    .filter((line) => [...instanceIds].some((id) => line.includes(id)) && CONTAINER_401.test(line));
  const workerLines = stack.logs
    .read(stack.logs.worker)
    .split('\n')
    .filter((line) => line.includes(`/towns/${townId}/`) && / 401 /.test(line));
  const reportedByBroker = agents
    .filter((a) => (a.credential.reported?.unauthorizedCount ?? 0) > 0)
    .map((a) => `${a.role} ${a.id}: unauthorizedCount ${a.credential.reported!.unauthorizedCount}`);
  return {
    toolResults,
    containerLines,
    workerLines,
    reportedByBroker,
    total: toolResults.length + containerLines.length + workerLines.length + reportedByBroker.length,
  };
}

/** Distinct `x-session-id` headers of an agent's model requests (opencode sends its session id). */
export function sessionIdsSeenByLlm(stack: Stack, agentId: string): string[] {
  const ids = new Set<string>();
  for (const r of stack.fakeLlm?.chatRequests(agentId) ?? []) {
    const id = r.headers['x-session-id'];
    if (id) ids.add(id);
  }
  return [...ids];
}
