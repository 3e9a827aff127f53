import { describe, expect, it } from 'vitest';
import { SseParser } from '@gastown/protocol';
import { AnthropicStreamUsage, anthropicBodyUsage, normaliseAnthropicUsage } from '../../src/model-usage';

function readStream(text: string): AnthropicStreamUsage {
  const reader = new AnthropicStreamUsage();
  for (const event of new SseParser().push(text)) reader.event(event);
  return reader;
}

const event = (name: string, value: unknown) => `event: ${name}\ndata: ${JSON.stringify(value)}\n\n`;

const MESSAGE_START = event('message_start', {
  type: 'message_start',
  message: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    content: [],
    usage: { input_tokens: 40, cache_read_input_tokens: 300, cache_creation_input_tokens: 60, output_tokens: 1 },
  },
});

describe('Anthropic usage', () => {
  it.each([
    {
      name: 'every field',
      usage: { input_tokens: 40, output_tokens: 12, cache_read_input_tokens: 300, cache_creation_input_tokens: 60 },
      want: { inputTokens: 40, outputTokens: 12, cacheReadTokens: 300, cacheWriteTokens: 60 },
    },
    {
      name: 'no cache fields',
      usage: { input_tokens: 40, output_tokens: 12 },
      want: { inputTokens: 40, outputTokens: 12, cacheReadTokens: 0, cacheWriteTokens: 0 },
    },
    {
      name: 'garbage values',
      usage: { input_tokens: 'x', output_tokens: Number.NaN, cache_read_input_tokens: null, cache_creation_input_tokens: Infinity },
      want: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
    },
    { name: 'an array', usage: [1, 2], want: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 } },
  ])('normalises $name', ({ usage, want }) => {
    expect(normaliseAnthropicUsage(usage)).toEqual(want);
  });

  it('reads a non-stream body’s usage', () => {
    const body = {
      id: 'msg_1',
      type: 'message',
      content: [{ type: 'text', text: 'hi' }],
      usage: { input_tokens: 5, output_tokens: 2, cache_read_input_tokens: 1, cache_creation_input_tokens: 0 },
    };
    expect(anthropicBodyUsage(body)).toEqual({ inputTokens: 5, outputTokens: 2, cacheReadTokens: 1, cacheWriteTokens: 0 });
  });

  it('a stream: message_start gives input and cache, the LAST message_delta gives the output', () => {
    const reader = readStream(
      MESSAGE_START +
        event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
        event('ping', { type: 'ping' }) +
        event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } }) +
        event('message_delta', { type: 'message_delta', delta: { stop_reason: null }, usage: { output_tokens: 5 } }) +
        event('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 17 } }) +
        event('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 23 } }) +
        event('message_stop', { type: 'message_stop' }),
    );
    expect(reader.usage()).toEqual({ inputTokens: 40, outputTokens: 23, cacheReadTokens: 300, cacheWriteTokens: 60 });
    expect(reader.errorCode()).toBeNull();
  });

  it('a message_delta naming cumulative input and cache counts replaces them', () => {
    const reader = readStream(
      MESSAGE_START + event('message_delta', { type: 'message_delta', usage: { input_tokens: 41, cache_read_input_tokens: 300, output_tokens: 9 } }),
    );
    expect(reader.usage()).toEqual({ inputTokens: 41, outputTokens: 9, cacheReadTokens: 300, cacheWriteTokens: 60 });
  });

  it('without message_start only the output is known', () => {
    expect(readStream(event('message_delta', { type: 'message_delta', usage: { output_tokens: 3 } })).usage()).toEqual({
      inputTokens: 0,
      outputTokens: 3,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
  });

  it('malformed events are skipped without a throw', () => {
    const reader = readStream(
      'event: message_start\ndata: {broken\n\n' +
        'event: message_delta\ndata: "text"\n\n' +
        MESSAGE_START +
        event('message_delta', { type: 'message_delta', usage: 'none' }),
    );
    expect(reader.usage()).toEqual({ inputTokens: 40, outputTokens: 1, cacheReadTokens: 300, cacheWriteTokens: 60 });
  });

  it('an in-band error event gives its type', () => {
    const reader = readStream(MESSAGE_START + event('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
    expect(reader.errorCode()).toBe('overloaded_error');
  });
});
