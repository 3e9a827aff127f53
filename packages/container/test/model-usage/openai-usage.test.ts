import { describe, expect, it } from 'vitest';
import { SseParser } from '@gastown/protocol';
import { OpenAiStreamUsage, normaliseOpenAiUsage, openAiBodyUsage } from '../../src/model-usage';

function readStream(text: string): OpenAiStreamUsage {
  const reader = new OpenAiStreamUsage();
  for (const event of new SseParser().push(text)) reader.event(event);
  return reader;
}

const chunk = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;

describe('OpenAI usage', () => {
  it.each([
    {
      name: 'prompt and completion',
      usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 },
      want: { inputTokens: 120, outputTokens: 30, cacheReadTokens: 0, cacheWriteTokens: 0 },
    },
    {
      name: 'cached tokens come out of the input',
      usage: { prompt_tokens: 120, completion_tokens: 30, prompt_tokens_details: { cached_tokens: 100 } },
      want: { inputTokens: 20, outputTokens: 30, cacheReadTokens: 100, cacheWriteTokens: 0 },
    },
    {
      name: 'cached above prompt is capped (never a negative input)',
      usage: { prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 50 } },
      want: { inputTokens: 0, outputTokens: 1, cacheReadTokens: 10, cacheWriteTokens: 0 },
    },
    {
      name: 'fractions, negatives and strings',
      usage: { prompt_tokens: 12.7, completion_tokens: -3, prompt_tokens_details: { cached_tokens: '5' } },
      want: { inputTokens: 12, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
    },
    { name: 'not an object', usage: 'lots', want: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 } },
    { name: 'null', usage: null, want: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 } },
  ])('normalises $name', ({ usage, want }) => {
    expect(normaliseOpenAiUsage(usage)).toEqual(want);
  });

  it('reads a non-stream body’s usage', () => {
    const body = {
      id: 'c1',
      choices: [{ message: { content: 'hi' } }],
      usage: { prompt_tokens: 9, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 3 } },
    };
    expect(openAiBodyUsage(body)).toEqual({ inputTokens: 6, outputTokens: 4, cacheReadTokens: 3, cacheWriteTokens: 0 });
    expect(openAiBodyUsage({ choices: [] })).toEqual({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });
  });

  it('reads the usage chunk of a stream (include_usage), cached tokens included', () => {
    const reader = readStream(
      chunk({ choices: [{ delta: { content: 'Hel' } }], usage: null }) +
        chunk({ choices: [{ delta: { content: 'lo' } }], usage: null }) +
        chunk({ choices: [], usage: { prompt_tokens: 500, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 125 } } }) +
        'data: [DONE]\n\n',
    );
    expect(reader.usage()).toEqual({ inputTokens: 375, outputTokens: 7, cacheReadTokens: 125, cacheWriteTokens: 0 });
    expect(reader.errorCode()).toBeNull();
  });

  it('a stream without a usage chunk measures zeros', () => {
    const reader = readStream(chunk({ choices: [{ delta: { content: 'x' } }] }) + 'data: [DONE]\n\n');
    expect(reader.usage()).toEqual({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });
  });

  it('malformed data is skipped without a throw; a later usage chunk still counts', () => {
    const reader = readStream('data: {not json\n\ndata: 42\n\ndata: null\n\ndata: []\n\n' + chunk({ usage: { prompt_tokens: 2, completion_tokens: 1 } }));
    expect(reader.usage()).toEqual({ inputTokens: 2, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 });
  });

  it('an in-band error chunk gives its code (code, else type)', () => {
    expect(readStream(chunk({ error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } })).errorCode()).toBe('rate_limit_exceeded');
    expect(readStream(chunk({ error: { message: 'oops', type: 'server_error', code: null } })).errorCode()).toBe('server_error');
  });
});
