import type { RuntimeEvent } from '../contracts';

const MAX_TEXT_CHARS = 4000;
const MAX_TOOL_CHARS = 2000;

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[${text.length - max} more]`;
}

function compactJson(value: unknown, max: number): string | null {
  if (value === undefined) return null;
  try {
    return truncate(JSON.stringify(value), max);
  } catch {
    return null;
  }
}

/**
 * The event-sink record for a runtime event, or null when the event is not persisted
 * (streaming text deltas, pending tool parts, lifecycle events handled by the state machine).
 */
export function recordFor(event: RuntimeEvent): { type: string; data: Record<string, unknown> } | null {
  switch (event.type) {
    case 'text':
      if (!event.final) return null;
      return { type: 'agent.text', data: { sessionId: event.sessionId, messageId: event.messageId, text: truncate(event.text, MAX_TEXT_CHARS) } };
    case 'tool':
      if (event.state === 'pending') return null;
      return {
        type: 'agent.tool',
        data: {
          sessionId: event.sessionId,
          callId: event.callId,
          tool: event.tool,
          state: event.state,
          input: event.state === 'running' ? compactJson(event.input, MAX_TOOL_CHARS) : null,
          output: event.output === undefined ? null : truncate(event.output, MAX_TOOL_CHARS),
        },
      };
    case 'error':
      return { type: 'agent.error', data: { sessionId: event.sessionId, message: truncate(event.message, MAX_TOOL_CHARS) } };
    case 'session.busy':
      return { type: 'session.busy', data: { sessionId: event.sessionId } };
    case 'session.idle':
      return { type: 'session.idle', data: { sessionId: event.sessionId } };
    case 'exit':
      return null;
  }
}
