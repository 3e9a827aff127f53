/**
 * Minimal clients of the two wire formats, written from the providers' documentation (not from the
 * fake's code): they post a request and decode the answer — streamed or not — into one shape.
 */
import { expect } from 'vitest';
import type { TokenUsage } from '../../src/fake-llm/index';

export interface DecodedAnswer {
  status: number;
  text: string;
  calls: Array<{ id: string; name: string; args: unknown }>;
  /** 'stop' | 'tool_calls' (openai) or 'end_turn' | 'tool_use' (anthropic). */
  stop: string | null;
  /** The usage the answer reported, normalised; null when it reported none. */
  usage: TokenUsage | null;
  /** The error body of a non-200 answer. */
  error: unknown;
}

export interface SseEvent {
  event: string | null;
  data: string;
}

/** Parses a `text/event-stream` body into events (`event:` / `data:` lines, blank-line separated). */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
      else throw new Error(`unexpected SSE line: ${line}`);
    }
    events.push({ event, data: data.join('\n') });
  }
  return events;
}

async function postJson(url: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

function openaiUsageToNormalised(usage: any): TokenUsage {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return { inputTokens: usage.prompt_tokens - cached, outputTokens: usage.completion_tokens, cacheReadTokens: cached, cacheWriteTokens: 0 };
}

/** `POST {base}/chat/completions`, decoded like an OpenAI client. */
export async function openaiCall(base: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<DecodedAnswer> {
  const res = await postJson(`${base}/chat/completions`, body, headers);
  const answer: DecodedAnswer = { status: res.status, text: '', calls: [], stop: null, usage: null, error: null };
  if (res.status !== 200) return { ...answer, error: await res.json() };
  if (!body.stream) {
    const json = (await res.json()) as any;
    expect(json.object).toBe('chat.completion');
    const choice = json.choices[0];
    answer.text = choice.message.content ?? '';
    answer.calls = (choice.message.tool_calls ?? []).map((c: any) => ({ id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) }));
    answer.stop = choice.finish_reason;
    answer.usage = openaiUsageToNormalised(json.usage);
    return answer;
  }
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const events = parseSse(await res.text());
  expect(events.every((e) => e.event === null)).toBe(true);
  expect(events.at(-1)!.data).toBe('[DONE]');
  const raw: Array<{ id: string; name: string; args: string }> = [];
  for (const { data } of events.slice(0, -1)) {
    const chunk = JSON.parse(data);
    expect(chunk.object).toBe('chat.completion.chunk');
    if (chunk.usage) answer.usage = openaiUsageToNormalised(chunk.usage);
    for (const choice of chunk.choices) {
      if (choice.finish_reason) answer.stop = choice.finish_reason;
      if (choice.delta.content) answer.text += choice.delta.content;
      for (const tc of choice.delta.tool_calls ?? []) {
        raw[tc.index] ??= { id: '', name: '', args: '' };
        const call = raw[tc.index]!;
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name += tc.function.name;
        if (tc.function?.arguments) call.args += tc.function.arguments;
      }
    }
  }
  answer.calls = raw.map((c) => ({ id: c.id, name: c.name, args: JSON.parse(c.args) }));
  return answer;
}

function anthropicUsageToNormalised(usage: any): TokenUsage {
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    cacheReadTokens: usage.cache_read_input_tokens ?? 0,
    cacheWriteTokens: usage.cache_creation_input_tokens ?? 0,
  };
}

/** `POST {base}/messages`, decoded like an Anthropic client (the stream's event names are checked against `data.type`). */
export async function anthropicCall(base: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<DecodedAnswer> {
  const res = await postJson(`${base}/messages`, body, { 'anthropic-version': '2023-06-01', ...headers });
  const answer: DecodedAnswer = { status: res.status, text: '', calls: [], stop: null, usage: null, error: null };
  if (res.status !== 200) return { ...answer, error: await res.json() };
  if (!body.stream) {
    const json = (await res.json()) as any;
    expect(json).toMatchObject({ type: 'message', role: 'assistant', stop_sequence: null });
    expect(json.id).toMatch(/^msg_/);
    for (const block of json.content) {
      if (block.type === 'text') answer.text += block.text;
      else if (block.type === 'tool_use') answer.calls.push({ id: block.id, name: block.name, args: block.input });
      else throw new Error(`unexpected block ${block.type}`);
    }
    answer.stop = json.stop_reason;
    answer.usage = anthropicUsageToNormalised(json.usage);
    return answer;
  }
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const events = parseSse(await res.text()).map(({ event, data }) => {
    const json = JSON.parse(data);
    expect(event).toBe(json.type);
    return json;
  });
  expect(events[0].type).toBe('message_start');
  expect(events.at(-1).type).toBe('message_stop');
  const blocks: Array<{ type: string; id?: string; name?: string; text: string; json: string; open: boolean }> = [];
  let usage: TokenUsage | null = null;
  for (const ev of events) {
    switch (ev.type) {
      case 'message_start':
        usage = anthropicUsageToNormalised(ev.message.usage);
        break;
      case 'content_block_start':
        expect(blocks.length).toBe(ev.index);
        blocks.push({
          type: ev.content_block.type,
          id: ev.content_block.id,
          name: ev.content_block.name,
          text: ev.content_block.text ?? '',
          json: '',
          open: true,
        });
        break;
      case 'content_block_delta': {
        const block = blocks[ev.index]!;
        expect(block.open).toBe(true);
        if (ev.delta.type === 'text_delta') block.text += ev.delta.text;
        else if (ev.delta.type === 'input_json_delta') block.json += ev.delta.partial_json;
        else throw new Error(`unexpected delta ${ev.delta.type}`);
        break;
      }
      case 'content_block_stop':
        blocks[ev.index]!.open = false;
        break;
      case 'message_delta':
        answer.stop = ev.delta.stop_reason;
        // cumulative: the last value is the output count
        usage = { ...usage!, outputTokens: ev.usage.output_tokens };
        break;
      case 'ping':
      case 'message_stop':
        break;
      default:
        throw new Error(`unexpected event ${ev.type}`);
    }
  }
  expect(blocks.every((b) => !b.open)).toBe(true);
  for (const block of blocks) {
    if (block.type === 'text') answer.text += block.text;
    else answer.calls.push({ id: block.id!, name: block.name!, args: block.json ? JSON.parse(block.json) : {} });
  }
  answer.usage = usage;
  return answer;
}
