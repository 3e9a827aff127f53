import type { SessionMessage } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { compactionStart, countTurns, dropForSize, lastTurnStart } from '../../src/session/snapshot-trim';
import { loadExport } from './fixtures/conversation';

/** A message with only what the rules read. */
function msg(
  id: string,
  role: 'user' | 'assistant',
  info: Record<string, unknown> = {},
  parts: Array<Record<string, unknown>> = [{ type: 'text' }],
): SessionMessage {
  return { info: { id, role, ...info }, parts: parts as SessionMessage['parts'] };
}
const summary = (id: string, parentID: string, info: Record<string, unknown> = {}) =>
  msg(id, 'assistant', { parentID, summary: true, finish: 'stop', ...info });
const compaction = (id: string, part: Record<string, unknown> = {}) => msg(id, 'user', {}, [{ type: 'compaction', auto: false, ...part }]);

describe('compactionStart (opencode 1.18.33 MessageV2.filterCompacted)', () => {
  it('real export: drops everything before the compaction turn', () => {
    const { messages } = loadExport('opencode-compaction');
    const start = compactionStart(messages);
    expect(messages[start]!.parts.map((p) => p.type)).toEqual(['compaction']);
    // what the model was sent next: the compaction turn, the summary, the turn after it
    expect(messages.slice(start).map((m) => [m.info.role, m.info.summary === true])).toEqual([
      ['user', false],
      ['assistant', true],
      ['user', false],
      ['assistant', false],
    ]);
    expect(countTurns(messages.slice(0, start))).toBe(4);
  });

  it('real export with a kept tail: starts at the message tail_start_id names', () => {
    const { messages } = loadExport('opencode-compaction-tail');
    const start = compactionStart(messages);
    const compactionMessage = messages.find((m) => m.parts.some((p) => p.type === 'compaction'))!;
    const tail = compactionMessage.parts.find((p) => p.type === 'compaction')!.tail_start_id;
    expect(messages[start]!.info.id).toBe(tail);
    expect(messages[start]!.parts[0]).toMatchObject({ type: 'text', text: 'turn three' });
    expect(countTurns(messages.slice(0, start))).toBe(2);
  });

  const cases: Array<{ name: string; messages: SessionMessage[]; start: number }> = [
    { name: 'no compaction', messages: [msg('u1', 'user'), msg('a1', 'assistant', { parentID: 'u1', finish: 'stop' })], start: 0 },
    { name: 'empty', messages: [], start: 0 },
    {
      name: 'completed compaction without tail',
      messages: [msg('u1', 'user'), msg('a1', 'assistant'), compaction('c1'), summary('s1', 'c1'), msg('u2', 'user')],
      start: 2,
    },
    {
      name: 'compaction still running (summary has no finish)',
      messages: [msg('u1', 'user'), compaction('c1'), summary('s1', 'c1', { finish: undefined })],
      start: 0,
    },
    {
      name: 'compaction failed (summary has an error)',
      messages: [msg('u1', 'user'), compaction('c1'), summary('s1', 'c1', { error: { name: 'ContextOverflowError' } })],
      start: 0,
    },
    { name: 'compaction with no summary yet', messages: [msg('u1', 'user'), compaction('c1')], start: 0 },
    {
      name: 'a summary whose parent has no compaction part',
      messages: [msg('u1', 'user'), msg('u2', 'user'), summary('s1', 'u2')],
      start: 0,
    },
    {
      name: 'only the last completed compaction counts',
      messages: [msg('u1', 'user'), compaction('c1'), summary('s1', 'c1'), msg('u2', 'user'), compaction('c2'), summary('s2', 'c2'), msg('u3', 'user')],
      start: 4,
    },
    {
      name: 'a later unfinished compaction does not hide the earlier completed one',
      messages: [msg('u1', 'user'), compaction('c1'), summary('s1', 'c1'), msg('u2', 'user'), compaction('c2'), summary('s2', 'c2', { finish: undefined })],
      start: 1,
    },
    {
      name: 'tail_start_id names an earlier message',
      messages: [msg('u1', 'user'), msg('u2', 'user'), msg('a2', 'assistant'), compaction('c1', { tail_start_id: 'u2' }), summary('s1', 'c1')],
      start: 1,
    },
    {
      name: 'tail_start_id names a message that is gone: everything is kept',
      messages: [msg('u1', 'user'), compaction('c1', { tail_start_id: 'gone' }), summary('s1', 'c1')],
      start: 0,
    },
    {
      name: 'an empty tail_start_id is no tail',
      messages: [msg('u1', 'user'), compaction('c1', { tail_start_id: '' }), summary('s1', 'c1')],
      start: 1,
    },
  ];
  it.each(cases)('$name', ({ messages, start }) => {
    expect(compactionStart(messages)).toBe(start);
  });
});

describe('dropForSize', () => {
  // three turns: [u1 a1] [u2 a2 a2b] [u3 a3]
  const messages = [
    msg('u1', 'user'),
    msg('a1', 'assistant'),
    msg('u2', 'user'),
    msg('a2', 'assistant'),
    msg('a2b', 'assistant'),
    msg('u3', 'user'),
    msg('a3', 'assistant'),
  ];
  const sizes = [10, 10, 10, 10, 10, 10, 10];
  // total = fixed 20 + 70 + 6 commas = 96; turn 1 = 22 bytes with its commas, turn 2 = 33
  const cases = [
    { name: 'fits: nothing dropped', max: 96, cut: 0 },
    { name: 'one byte over: the oldest turn goes', max: 95, cut: 2 },
    { name: 'exactly without the first turn', max: 74, cut: 2 },
    { name: 'one more byte less: two turns go', max: 73, cut: 5 },
    { name: 'never the last turn, even when it does not fit', max: 0, cut: 5 },
  ];
  it.each(cases)('$name', ({ max, cut }) => {
    expect(dropForSize(messages, sizes, 20, max)).toBe(cut);
  });

  it('counts messages before the first user message as a turn of their own', () => {
    const leading = [msg('a0', 'assistant'), msg('u1', 'user'), msg('a1', 'assistant')];
    expect(dropForSize(leading, [10, 10, 10], 0, 25)).toBe(1);
    expect(countTurns(leading.slice(1))).toBe(1);
  });

  it('lastTurnStart', () => {
    expect(lastTurnStart(messages)).toBe(5);
    expect(lastTurnStart([])).toBe(0);
    expect(lastTurnStart([msg('a0', 'assistant')])).toBe(0);
  });
});
