import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/sse-parser';

describe('SseParser', () => {
  it('parses events split across chunks at any byte', () => {
    const text = 'id: 1\nevent: agent.text\ndata: {"a":1}\n\n: keep-alive\n\nid: 2\nevent: session.idle\ndata: {"b":\ndata: 2}\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(events).toEqual([
        { event: 'agent.text', data: '{"a":1}', id: '1' },
        { event: 'session.idle', data: '{"b":\n2}', id: '2' },
      ]);
    }
  });

  const body = 'id: 1\nevent: town.created\ndata: {"a":1}\n\n: keep-alive\n\nid: 2\r\nevent: x\r\ndata: line one\r\ndata: line two\r\n\r\n';

  it.each([
    { name: 'one chunk', chunks: [body] },
    { name: 'one character at a time', chunks: body.split('') },
    { name: 'split inside CRLF', chunks: [body.slice(0, body.indexOf('\r') + 1), body.slice(body.indexOf('\r') + 1)] },
  ])('parses events, ids and multi-line data: $name', ({ chunks }) => {
    const parser = new SseParser();
    const events = chunks.flatMap((c) => parser.push(c));
    expect(events).toEqual([
      { id: '1', event: 'town.created', data: '{"a":1}' },
      { id: '2', event: 'x', data: 'line one\nline two' },
    ]);
    expect(parser.lastEventId).toBe('2');
  });

  it('handles CRLF and CR line ends, a CRLF split between chunks', () => {
    const parser = new SseParser();
    expect(parser.push('data: x\r')).toEqual([]);
    expect(parser.push('\n\r\ndata: y\r\r')).toEqual([{ event: 'message', data: 'x', id: null }]);
    // the trailing \r may be half of \r\n: the event is complete once the next character arrives
    expect(parser.push('data: z\n\n')).toEqual([
      { event: 'message', data: 'y', id: null },
      { event: 'message', data: 'z', id: null },
    ]);
  });

  it('ignores comments, unknown fields and blocks without data; keeps an incomplete event', () => {
    const parser = new SseParser();
    expect(parser.push(': connected\n\nretry: 10\nevent: x\n\nfoo: bar\ndata: partial')).toEqual([]);
    expect(parser.push('\n\n')).toEqual([{ event: 'message', data: 'partial', id: null }]);
  });

  it('does not emit an event until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('id: 7\ndata: {}\n')).toEqual([]);
    expect(parser.lastEventId).toBe(null);
    expect(parser.push('\n')).toEqual([{ id: '7', event: 'message', data: '{}' }]);
  });

  it('gives each event only its own id, while lastEventId persists across events without one', () => {
    const parser = new SseParser();
    expect(parser.push('id: 5\ndata: a\n\ndata: b\n\nid: 6\n\nid: bad\0\ndata: c\n\n')).toEqual([
      { id: '5', event: 'message', data: 'a' },
      { id: null, event: 'message', data: 'b' },
      { id: null, event: 'message', data: 'c' }, // an id with NUL is ignored
    ]);
    expect(parser.lastEventId).toBe('6'); // a block with an id but no data still moves it
  });
});
