import { describe, expect, it } from 'vitest';
import { createUsageMeter, providerErrorCode } from '../../src/model-usage';

const encoder = new TextEncoder();
const ZERO = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };

/** Every split of `text` into two chunks, at byte offsets (so multi-byte characters get cut). */
function splits(text: string): Uint8Array[][] {
  const bytes = encoder.encode(text);
  const out: Uint8Array[][] = [];
  for (let i = 0; i <= bytes.length; i += 1) out.push([bytes.slice(0, i), bytes.slice(i)]);
  return out;
}

describe('usage meter', () => {
  it('an SSE body measures the same whatever its chunking (multi-byte text cut mid-character)', () => {
    const text =
      'data: {"choices":[{"delta":{"content":"héllo ✓"}}]}\r\n\r\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":2}}}\n\n' +
      'data: [DONE]\n\n';
    for (const chunks of splits(text)) {
      const meter = createUsageMeter({ wire: 'openai-chat', sse: true });
      for (const c of chunks) meter.push(c);
      expect(meter.finish()).toEqual({ usage: { inputTokens: 6, outputTokens: 3, cacheReadTokens: 2, cacheWriteTokens: 0 }, errorCode: null });
    }
  });

  it('an SSE body cut before its last blank line still counts its last event', () => {
    const meter = createUsageMeter({ wire: 'anthropic-messages', sse: true });
    meter.push(encoder.encode('event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":4,"output_tokens":1}}}\n\n'));
    meter.push(encoder.encode('event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":6}}'));
    expect(meter.finish().usage).toEqual({ inputTokens: 4, outputTokens: 6, cacheReadTokens: 0, cacheWriteTokens: 0 });
  });

  it.each([
    {
      name: 'openai',
      wire: 'openai-chat' as const,
      body: { usage: { prompt_tokens: 10, completion_tokens: 2 } },
      want: { ...ZERO, inputTokens: 10, outputTokens: 2 },
    },
    {
      name: 'anthropic',
      wire: 'anthropic-messages' as const,
      body: { type: 'message', usage: { input_tokens: 3, output_tokens: 4, cache_read_input_tokens: 5, cache_creation_input_tokens: 6 } },
      want: { inputTokens: 3, outputTokens: 4, cacheReadTokens: 5, cacheWriteTokens: 6 },
    },
  ])('a JSON body ($name) is read at its end, in any chunking', ({ wire, body, want }) => {
    for (const chunks of splits(JSON.stringify(body))) {
      const meter = createUsageMeter({ wire, sse: false });
      for (const c of chunks) meter.push(c);
      expect(meter.finish()).toEqual({ usage: want, errorCode: null });
    }
  });

  it.each([
    { name: 'not JSON', text: '<html>502 Bad Gateway</html>', sse: false },
    { name: 'truncated JSON', text: '{"usage":{"prompt_tokens":1', sse: false },
    { name: 'JSON null', text: 'null', sse: false },
    { name: 'empty', text: '', sse: false },
    { name: 'SSE garbage', text: 'data: {{{\n\n:comment\n\nevent\n\n', sse: true },
    { name: 'invalid UTF-8', bytes: new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0xfe, 0x0a, 0x0a]), sse: true },
    { name: 'invalid UTF-8 JSON', bytes: new Uint8Array([0x7b, 0xff, 0x7d]), sse: false },
  ])('malformed data ($name) → zeros, no throw', ({ text, bytes, sse }) => {
    for (const wire of ['openai-chat', 'anthropic-messages'] as const) {
      const meter = createUsageMeter({ wire, sse });
      meter.push(bytes ?? encoder.encode(text ?? ''));
      expect(meter.finish()).toEqual({ usage: ZERO, errorCode: null });
    }
  });

  it('a JSON body over the bound is not held and measures zeros', () => {
    const meter = createUsageMeter({ wire: 'openai-chat', sse: false, maxJsonBytes: 16 });
    meter.push(encoder.encode(JSON.stringify({ usage: { prompt_tokens: 10, completion_tokens: 2 } })));
    expect(meter.finish().usage).toEqual(ZERO);
  });

  it('an error body gives the provider’s code', () => {
    const meter = createUsageMeter({ wire: 'anthropic-messages', sse: false });
    meter.push(encoder.encode(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } })));
    expect(meter.finish()).toEqual({ usage: ZERO, errorCode: 'authentication_error' });
  });
});

describe('provider error code', () => {
  it.each([
    {
      name: 'openai code',
      wire: 'openai-chat' as const,
      body: { error: { message: 'Incorrect API key sk-abc', type: 'invalid_request_error', code: 'invalid_api_key' } },
      want: 'invalid_api_key',
    },
    {
      name: 'openai type when code is null',
      wire: 'openai-chat' as const,
      body: { error: { message: 'm', type: 'insufficient_quota', code: null } },
      want: 'insufficient_quota',
    },
    { name: 'openai numeric code', wire: 'openai-chat' as const, body: { error: { message: 'm', code: 429 } }, want: '429' },
    {
      name: 'anthropic type',
      wire: 'anthropic-messages' as const,
      body: { type: 'error', error: { type: 'rate_limit_error', message: 'm' } },
      want: 'rate_limit_error',
    },
    { name: 'anthropic ignores code', wire: 'anthropic-messages' as const, body: { type: 'error', error: { code: 'x', message: 'm' } }, want: null },
    { name: 'only a message', wire: 'openai-chat' as const, body: { error: { message: 'secret sk-123 is wrong' } }, want: null },
    { name: 'a string error', wire: 'openai-chat' as const, body: { error: 'bad key' }, want: null },
    { name: 'no error', wire: 'openai-chat' as const, body: { choices: [] }, want: null },
    { name: 'not an object', wire: 'anthropic-messages' as const, body: 'nope', want: null },
  ])('$name → $want', ({ wire, body, want }) => {
    expect(providerErrorCode(wire, body)).toBe(want);
  });

  it('is cut to 100 characters', () => {
    expect(providerErrorCode('openai-chat', { error: { code: 'x'.repeat(300) } })).toBe('x'.repeat(100));
  });
});
