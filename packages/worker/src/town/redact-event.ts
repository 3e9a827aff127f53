import { SECRET_PATTERNS, type AgentEvent, type EventBatchRequest } from '@gastown/protocol';

/**
 * The worker's second redaction pass over what agents send (issue 11, point 5). The container
 * already replaced its registered secrets and token shapes with `[redacted:<fingerprint>]`;
 * here only shapes can be recognised (the worker knows no container secret), so this pass
 * catches whatever the container missed or a hostile container sends: every JWT (the agent's
 * own access token included), `gtr_` refresh credentials, `gtb_` broker keys, provider keys…
 * Pure: no I/O, inputs are not changed.
 */

/** What a secret becomes. */
export const REDACTED = '[redacted]';

/** Deeper values are flattened to (redacted) JSON text rather than walked. */
const MAX_DEPTH = 32;

/** `text` with every token-shaped substring replaced by `[redacted]`. */
export function redactText(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, REDACTED);
  return out;
}

/** A copy of a JSON value with every string (object keys included) redacted. */
export function redactJson(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return redactText(JSON.stringify(value));
  if (Array.isArray(value)) return value.map((item) => redactJson(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[redactText(key)] = redactJson(item, depth + 1);
  return out;
}

/** One agent event, every string of it redacted (`at` is a number and kept). */
export function redactAgentEvent(event: AgentEvent): AgentEvent {
  return { id: redactText(event.id), type: redactText(event.type), at: event.at, data: redactJson(event.data) as Record<string, unknown> };
}

/** The batch as it may be stored and streamed. */
export function redactEventBatch(batch: EventBatchRequest): EventBatchRequest {
  return { ...batch, events: batch.events.map(redactAgentEvent) };
}
