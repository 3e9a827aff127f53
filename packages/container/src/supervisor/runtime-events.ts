import type { RuntimeEvent } from '../contracts';
import { redactString } from '../log/redact';

const MAX_TEXT_CHARS = 4000;
const MAX_TOOL_CHARS = 2000;

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more]`;
}

/** Redact, then truncate: a secret cut in two by the truncation would no longer match. */
function clip(text: string, max: number, secrets: readonly string[]): string {
  return truncate(redactString(text, secrets), max);
}

function compactJson(value: unknown, max: number, secrets: readonly string[]): string | null {
  if (value === undefined) return null;
  try {
    return clip(JSON.stringify(value), max, secrets);
  } catch {
    return null;
  }
}

/**
 * The event-sink record for a runtime event, or null when the event is not persisted
 * (streaming text deltas, pending tool parts, lifecycle events handled by the state machine).
 * Text, tool input/output and error messages are redacted with `secrets` (the registry's values)
 * and the token patterns before they are truncated; the event sink redacts the record again.
 */
export function recordFor(event: RuntimeEvent, secrets: readonly string[] = []): { type: string; data: Record<string, unknown> } | null {
  switch (event.type) {
    case 'text':
      if (!event.final) return null;
      return { type: 'agent.text', data: { sessionId: event.sessionId, messageId: event.messageId, text: clip(event.text, MAX_TEXT_CHARS, secrets) } };
    case 'tool':
      if (event.state === 'pending') return null;
      return {
        type: 'agent.tool',
        data: {
          sessionId: event.sessionId,
          callId: event.callId,
          tool: event.tool,
          state: event.state,
          input: event.state === 'running' ? compactJson(event.input, MAX_TOOL_CHARS, secrets) : null,
          output: event.output === undefined ? null : clip(event.output, MAX_TOOL_CHARS, secrets),
        },
      };
    case 'error':
      return { type: 'agent.error', data: { sessionId: event.sessionId, message: clip(event.message, MAX_TOOL_CHARS, secrets) } };
    case 'session.busy':
      return { type: 'session.busy', data: { sessionId: event.sessionId } };
    case 'session.idle':
      return { type: 'session.idle', data: { sessionId: event.sessionId } };
    case 'exit':
      return null;
  }
}
