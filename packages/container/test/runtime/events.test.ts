import { describe, expect, it } from 'vitest';
import { EventNormaliser, errorMessage } from '../../src/runtime/events';

const S = 'ses_main';
const status = (type: string, sessionID = S) => ({ type: 'session.status', properties: { sessionID, status: { type } } });
const idle = (sessionID = S) => ({ type: 'session.idle', properties: { sessionID } });
const part = (p: Record<string, unknown>) => ({
  type: 'message.part.updated',
  properties: { sessionID: S, part: { sessionID: S, messageID: 'msg_a', id: 'prt_1', ...p } },
});
const tool = (status: string, extra: Record<string, unknown> = {}) =>
  part({ id: 'prt_t', type: 'tool', tool: 'gt_list_rigs', callID: 'call_1', state: { status, input: {}, ...extra } });

function run(events: unknown[], session: string | null = S) {
  const n = new EventNormaliser();
  if (session) n.setSession(session);
  return events.flatMap((e) => n.normalise(e));
}

describe('EventNormaliser', () => {
  it.each([
    {
      name: 'busy/idle once per transition, from session.status and session.idle alike',
      input: [status('busy'), status('busy'), status('idle'), idle(), status('busy'), idle()],
      expected: [
        { type: 'session.busy', sessionId: S },
        { type: 'session.idle', sessionId: S },
        { type: 'session.busy', sessionId: S },
        { type: 'session.idle', sessionId: S },
      ],
    },
    { name: 'idle without busy is not reported', input: [idle(), status('idle')], expected: [] },
    { name: 'status of another (sub-agent) session is ignored', input: [status('busy', 'ses_child'), idle('ses_child')], expected: [] },
    {
      name: 'a retried model request is an error, not busy/idle (main session only)',
      input: [
        { type: 'session.status', properties: { sessionID: S, status: { type: 'retry', attempt: 2, message: 'broker_unauthorized', next: 1 } } },
        { type: 'session.status', properties: { sessionID: 'ses_child', status: { type: 'retry', attempt: 1, message: 'x', next: 1 } } },
      ],
      expected: [{ type: 'error', sessionId: S, message: 'model request failed, retrying (attempt 2): broker_unauthorized' }],
    },
    {
      name: 'tool parts pending → running → completed, repeated states dropped',
      input: [tool('pending', { raw: '' }), tool('running'), tool('running', { metadata: { output: 'x' } }), tool('completed', { output: '{"rigs":[]}' })],
      expected: [
        { type: 'tool', sessionId: S, callId: 'call_1', tool: 'gt_list_rigs', state: 'pending', input: {} },
        { type: 'tool', sessionId: S, callId: 'call_1', tool: 'gt_list_rigs', state: 'running', input: {} },
        { type: 'tool', sessionId: S, callId: 'call_1', tool: 'gt_list_rigs', state: 'completed', input: {}, output: '{"rigs":[]}' },
      ],
    },
    {
      name: 'tool error carries the error text as output',
      input: [tool('error', { error: 'boom' })],
      expected: [{ type: 'tool', sessionId: S, callId: 'call_1', tool: 'gt_list_rigs', state: 'error', input: {}, output: 'boom' }],
    },
    {
      name: 'assistant text: empty start dropped, final once time.end is set, reported once',
      input: [
        part({ type: 'text', text: '', time: { start: 1 } }),
        part({ type: 'text', text: 'Hel', time: { start: 1 } }),
        part({ type: 'text', text: 'Hello', time: { start: 1, end: 2 } }),
        part({ type: 'text', text: 'Hello', time: { start: 1, end: 2 } }),
      ],
      expected: [
        { type: 'text', sessionId: S, messageId: 'msg_a', text: 'Hel', final: false },
        { type: 'text', sessionId: S, messageId: 'msg_a', text: 'Hello', final: true },
      ],
    },
    {
      name: "the user's own prompt text is not reported",
      input: [{ type: 'message.updated', properties: { sessionID: S, info: { id: 'msg_a', role: 'user' } } }, part({ type: 'text', text: 'list my rigs' })],
      expected: [],
    },
    {
      name: 'session.error becomes an error event, with or without a session',
      input: [
        { type: 'session.error', properties: { sessionID: S, error: { name: 'APIError', data: { message: 'rate limited' } } } },
        { type: 'session.error', properties: { error: { name: 'UnknownError', data: { message: 'Failed to load plugin x' } } } },
      ],
      expected: [
        { type: 'error', sessionId: S, message: 'APIError: rate limited' },
        { type: 'error', sessionId: null, message: 'UnknownError: Failed to load plugin x' },
      ],
    },
    {
      name: 'unknown and malformed events are ignored',
      input: [null, 'x', { type: 'plugin.added', properties: { id: 'x' } }, { type: 'message.part.updated', properties: { part: { type: 'tool' } } }],
      expected: [],
    },
  ])('$name', ({ input, expected }) => {
    expect(run(input)).toEqual(expected);
  });

  it('reports nothing about busy/idle before the session is known', () => {
    expect(run([status('busy'), idle()], null)).toEqual([]);
  });

  it('errorMessage tolerates any shape', () => {
    expect(errorMessage(undefined)).toBe('unknown error');
    expect(errorMessage({ name: 'X' })).toBe('X');
    expect(errorMessage({ message: 'plain' })).toBe('plain');
  });
});
