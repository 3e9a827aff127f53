import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/client/sse';

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
});
