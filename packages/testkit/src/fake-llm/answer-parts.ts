/** What an answer turn says, independent of the wire format: its text and its tool calls. Pure. */
import type { ToolCallSpec, Turn } from './types';

export type AnswerTurn = Exclude<Turn, { type: 'error' }>;

export interface AnswerCall {
  id: string;
  name: string;
  /** The arguments as sent (JSON text; a scripted string is sent as is). */
  argumentsJson: string;
}

export interface AnswerParts {
  text: string;
  calls: AnswerCall[];
  /** True when the answer asks for tool calls (finish `tool_calls` / stop reason `tool_use`). */
  callsTools: boolean;
}

export function argumentsJson(call: ToolCallSpec): string {
  if (typeof call.arguments === 'string') return call.arguments;
  return JSON.stringify(call.arguments ?? {});
}

/** Text and calls of a turn; calls without a scripted id get `<callIdPrefix>_<index>`. */
export function answerParts(turn: AnswerTurn, callIdPrefix: string): AnswerParts {
  const calls =
    turn.type === 'tool_calls'
      ? turn.calls.map((call, index) => ({ id: call.id ?? `${callIdPrefix}_${index}`, name: call.name, argumentsJson: argumentsJson(call) }))
      : [];
  const text = turn.type === 'text' ? turn.text : (turn.text ?? '');
  return { text, calls, callsTools: calls.length > 0 };
}

/** Split text into a few pieces so clients see real deltas. */
export function pieces(text: string): string[] {
  if (text.length <= 8) return text.length ? [text] : [];
  const size = Math.ceil(text.length / 3);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
