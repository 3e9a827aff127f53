/**
 * One tool call to the local broker: `POST {brokerUrl}/broker/tools/<name>` with the agent's
 * broker key. The broker attaches the agent's live control-plane token; the plugin never sees one.
 */
import { BROKER_API, parseErrorBody, routePath, type ToolName } from '@gastown/protocol';

/** Loopback coordinates of the broker, read from the environment at call time. */
export interface BrokerCoordinates {
  brokerUrl: string;
  agentKey: string;
}

/** Outcome of a call: the result text for the model, and whether it was an error. */
export interface BrokerCallOutcome {
  ok: boolean;
  text: string;
}

/** Longest a single tool call may take (the broker may be refreshing credentials with backoff). */
export const BROKER_CALL_TIMEOUT_MS = 120_000;

export function failure(toolId: string, code: string, message: string): BrokerCallOutcome {
  return { ok: false, text: `${toolId} failed: ${code}: ${message}` };
}

export function brokerCoordinatesFrom(env: Record<string, string | undefined>): BrokerCoordinates | string {
  const brokerUrl = env.GASTOWN_BROKER_URL;
  const agentKey = env.GASTOWN_AGENT_KEY;
  if (!brokerUrl) return 'GASTOWN_BROKER_URL is not set in the agent runtime';
  if (!agentKey) return 'GASTOWN_AGENT_KEY is not set in the agent runtime';
  return { brokerUrl: brokerUrl.replace(/\/+$/, ''), agentKey };
}

export async function callBroker(input: {
  toolId: string;
  tool: ToolName;
  args: unknown;
  coordinates: BrokerCoordinates;
  fetch: typeof fetch;
  signal?: AbortSignal;
  timeoutMs?: number;
}): Promise<BrokerCallOutcome> {
  const { toolId, coordinates } = input;
  const url = `${coordinates.brokerUrl}${routePath(BROKER_API.tool, { tool: input.tool })}`;
  const timeout = AbortSignal.timeout(input.timeoutMs ?? BROKER_CALL_TIMEOUT_MS);
  const signal = input.signal ? AbortSignal.any([input.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await input.fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${coordinates.agentKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(input.args),
      signal,
    });
  } catch (error) {
    if (input.signal?.aborted) return failure(toolId, 'aborted', 'the tool call was cancelled');
    if (timeout.aborted)
      return failure(toolId, 'upstream_failed', `the broker did not answer within ${Math.round((input.timeoutMs ?? BROKER_CALL_TIMEOUT_MS) / 1000)} s`);
    return failure(toolId, 'upstream_failed', `the broker is unreachable (${error instanceof Error ? error.message : 'network error'})`);
  }

  const text = await response.text();
  let body: unknown;
  try {
    body = text.length ? JSON.parse(text) : null;
  } catch {
    return failure(toolId, 'upstream_failed', `the broker answered HTTP ${response.status} with a non-JSON body`);
  }
  const error = parseErrorBody(body);
  if (error) return failure(toolId, error.error.code, error.error.message);
  if (!response.ok) return failure(toolId, 'upstream_failed', `the broker answered HTTP ${response.status}`);
  return { ok: true, text: JSON.stringify(body) };
}
