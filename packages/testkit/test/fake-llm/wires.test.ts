/** The fake LLM's two wire formats (OpenAI chat completions, Anthropic Messages) and its token accounting. */
import { afterEach, describe, expect, it } from 'vitest';
import { reply, startFakeLlm, type FakeLlm, type ModelWireFormat, type TokenUsage, type Turn } from '../../src/fake-llm/index';
import { anthropicCall, openaiCall, type DecodedAnswer } from './wire-clients';

let llm: FakeLlm | undefined;
afterEach(async () => {
  await llm?.stop();
  llm = undefined;
});

const TOOL_NAMES = ['gt_list_rigs', 'gt_sling'];

/** A request for `wire` saying `text`, as the runtime's SDK would send it. */
function requestFor(wire: ModelWireFormat, stream: boolean, text: string, model = 'model-a'): Record<string, unknown> {
  if (wire === 'openai-chat') {
    return {
      model,
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
      messages: [
        { role: 'system', content: 'You are an agent.' },
        { role: 'user', content: text },
      ],
      tools: TOOL_NAMES.map((name) => ({ type: 'function', function: { name, description: name, parameters: { type: 'object', properties: {} } } })),
    };
  }
  return {
    model,
    max_tokens: 4096,
    stream,
    system: [{ type: 'text', text: 'You are an agent.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: [{ type: 'text', text }] }],
    tools: TOOL_NAMES.map((name) => ({ name, description: name, input_schema: { type: 'object', properties: {} } })),
  };
}

const CLIENTS = { 'openai-chat': openaiCall, 'anthropic-messages': anthropicCall } as const;

function call(wire: ModelWireFormat, base: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<DecodedAnswer> {
  return CLIENTS[wire](base, body, headers);
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** The design note's formula, written out independently of the fake's code. */
function expectedUsage(wire: ModelWireFormat, requestJson: string, text: string, calls: Array<{ name: string; args: string }>): TokenUsage {
  const prompt = Math.ceil(bytes(requestJson) / 4);
  const outputTokens = Math.ceil((bytes(text) + calls.reduce((n, c) => n + bytes(c.name) + bytes(c.args), 0)) / 4) + 1;
  if (wire === 'openai-chat') {
    const cached = Math.floor(prompt / 4);
    return { inputTokens: prompt - cached, outputTokens, cacheReadTokens: cached, cacheWriteTokens: 0 };
  }
  const read = Math.floor(prompt / 3);
  const write = Math.floor(prompt / 5);
  return { inputTokens: prompt - read - write, outputTokens, cacheReadTokens: read, cacheWriteTokens: write };
}

const CASES: Array<{ name: string; wire: ModelWireFormat; stream: boolean }> = [
  { name: 'openai-chat, streamed', wire: 'openai-chat', stream: true },
  { name: 'openai-chat, one body', wire: 'openai-chat', stream: false },
  { name: 'anthropic-messages, streamed', wire: 'anthropic-messages', stream: true },
  { name: 'anthropic-messages, one body', wire: 'anthropic-messages', stream: false },
];

const TOOL_TURN: Turn = {
  type: 'tool_calls',
  text: 'Let me look at the rigs first.',
  calls: [
    { name: 'gt_list_rigs', arguments: {} },
    { name: 'gt_sling', arguments: '{"title":"fix the ünïcode bug","rigId":"rig_1"}', id: 'call_fixed' },
  ],
};

describe('fake LLM wire formats', () => {
  it.each(CASES)('$name: a tool-call turn and a text turn decode, with usage equal to the recorded usage', async ({ wire, stream }) => {
    llm = await startFakeLlm({ scripts: { ag_polecat1: [TOOL_TURN, reply('Two rigs, both ünïcode-clean.')] } });
    const headers = { 'x-gastown-agent-id': 'ag_polecat1' };

    const firstBody = requestFor(wire, stream, 'list the rigs');
    const first = await call(wire, llm.url, firstBody, headers);
    expect(first.status).toBe(200);
    expect(first.text).toBe('Let me look at the rigs first.');
    expect(first.calls.map((c) => [c.name, c.args])).toEqual([
      ['gt_list_rigs', {}],
      ['gt_sling', { title: 'fix the ünïcode bug', rigId: 'rig_1' }],
    ]);
    expect(first.calls[0]!.id).toMatch(wire === 'openai-chat' ? /^call_/ : /^toolu_/);
    expect(first.calls[1]!.id).toBe('call_fixed');
    expect(first.stop).toBe(wire === 'openai-chat' ? 'tool_calls' : 'tool_use');

    const secondBody = requestFor(wire, stream, 'and now?');
    const second = await call(wire, llm.url, secondBody, headers);
    expect(second.text).toBe('Two rigs, both ünïcode-clean.');
    expect(second.calls).toEqual([]);
    expect(second.stop).toBe(wire === 'openai-chat' ? 'stop' : 'end_turn');

    const [r1, r2] = llm.requests;
    expect([r1!.wire, r1!.model, r1!.kind, r1!.source]).toEqual([wire, 'model-a', 'chat', 'script']);
    expect(r1!.body).toEqual(firstBody);
    expect(r1!.messages.map((m) => [m.role, m.content])).toEqual([
      ['system', 'You are an agent.'],
      ['user', 'list the rigs'],
    ]);
    expect(r1!.toolNames).toEqual(TOOL_NAMES);

    expect(first.usage).toEqual(r1!.usage);
    expect(second.usage).toEqual(r2!.usage);
    expect(r1!.usage).toEqual(
      expectedUsage(wire, JSON.stringify(firstBody), 'Let me look at the rigs first.', [
        { name: 'gt_list_rigs', args: '{}' },
        { name: 'gt_sling', args: '{"title":"fix the ünïcode bug","rigId":"rig_1"}' },
      ]),
    );
    expect(r2!.usage).toEqual(expectedUsage(wire, JSON.stringify(secondBody), 'Two rigs, both ünïcode-clean.', []));
    expect(llm.totalUsage()).toEqual({
      inputTokens: r1!.usage.inputTokens + r2!.usage.inputTokens,
      outputTokens: r1!.usage.outputTokens + r2!.usage.outputTokens,
      cacheReadTokens: r1!.usage.cacheReadTokens + r2!.usage.cacheReadTokens,
      cacheWriteTokens: r1!.usage.cacheWriteTokens + r2!.usage.cacheWriteTokens,
    });
  });

  it('openai-chat: a stream without stream_options.include_usage has no usage chunk, but the usage is still recorded', async () => {
    llm = await startFakeLlm({ defaultScript: [reply('hello there, friend')] });
    const body = { ...requestFor('openai-chat', true, 'hi'), stream_options: undefined };
    const answer = await openaiCall(llm.url, body);
    expect(answer.text).toBe('hello there, friend');
    expect(answer.usage).toBeNull();
    expect(llm.requests[0]!.usage.outputTokens).toBe(Math.ceil(bytes('hello there, friend') / 4) + 1);
  });

  it('anthropic-messages: reports no cache tokens with anthropicCache false unless the body has a cache_control', async () => {
    llm = await startFakeLlm({ anthropicCache: false, defaultScript: [reply('a'), reply('b')] });
    const plain = { ...requestFor('anthropic-messages', false, 'x'), system: 'You are an agent.' };
    const cached = requestFor('anthropic-messages', false, 'x');
    const a = await anthropicCall(llm.url, plain);
    const b = await anthropicCall(llm.url, cached);
    expect(a.usage).toEqual({ inputTokens: Math.ceil(bytes(JSON.stringify(plain)) / 4), outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0 });
    expect(b.usage).toEqual(expectedUsage('anthropic-messages', JSON.stringify(cached), 'b', []));
    expect(b.usage!.cacheReadTokens).toBeGreaterThan(0);
  });

  it('anthropic-messages: a conversation with tool_use and tool_result blocks is normalised for responders and toolResults()', async () => {
    llm = await startFakeLlm();
    const seen: unknown[] = [];
    llm.setResponder((request, ctx) => {
      seen.push({ wire: ctx.wire, last: ctx.lastMessage?.role, results: ctx.toolResults, tools: ctx.toolNames, model: request.model });
      return reply('done');
    });
    const body = {
      model: 'claude-x',
      max_tokens: 1000,
      system: [
        { type: 'text', text: 'You are a polecat.' },
        { type: 'text', text: 'Work in /repo.', cache_control: { type: 'ephemeral' } },
      ],
      tools: [{ name: 'bash', description: 'run', input_schema: { type: 'object' } }],
      messages: [
        { role: 'user', content: 'start' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Running.' },
            { type: 'tool_use', id: 'toolu_01', name: 'bash', input: { command: 'ls' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_01', content: [{ type: 'text', text: 'README.md' }] },
            { type: 'text', text: 'go on' },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_02', name: 'bash', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_02', content: 'ok', is_error: true }] },
      ],
    };
    const answer = await anthropicCall(llm.url, body);
    expect(answer.text).toBe('done');
    expect(llm.requests[0]!.messages).toEqual([
      { role: 'system', content: 'You are a polecat.' },
      { role: 'system', content: 'Work in /repo.' },
      { role: 'user', content: 'start' },
      { role: 'assistant', content: 'Running.', tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'bash', arguments: '{"command":"ls"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_01', content: 'README.md' },
      { role: 'user', content: 'go on' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_02', type: 'function', function: { name: 'bash', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'toolu_02', content: 'ok' },
    ]);
    expect(seen).toEqual([
      {
        wire: 'anthropic-messages',
        last: 'tool',
        results: [
          { toolCallId: 'toolu_01', name: 'bash', content: 'README.md' },
          { toolCallId: 'toolu_02', name: 'bash', content: 'ok' },
        ],
        tools: ['bash'],
        model: 'claude-x',
      },
    ]);
    expect(llm.toolResults().map((r) => r.toolCallId)).toEqual(['toolu_01', 'toolu_02']);
  });

  it('anthropic-messages: title generation is answered without consuming a script turn, and has usage', async () => {
    llm = await startFakeLlm({ title: 'Rig listing', scripts: { ag_mayor01: [reply('real answer')] } });
    const headers = { 'x-gastown-agent-id': 'ag_mayor01' };
    const body = {
      model: 'small',
      max_tokens: 100,
      stream: true,
      system: [{ type: 'text', text: 'You are a title generator. You output ONLY a thread title.' }],
      messages: [{ role: 'user', content: 'list my rigs' }],
    };
    const title = await anthropicCall(llm.url, body, headers);
    expect(title.text).toBe('Rig listing');
    expect(llm.remaining('ag_mayor01')).toBe(1);
    expect(llm.requests[0]!.kind).toBe('title');
    expect(title.usage).toEqual(llm.requests[0]!.usage);
    expect(title.usage!.inputTokens).toBeGreaterThan(0);
    expect((await anthropicCall(llm.url, requestFor('anthropic-messages', true, 'list my rigs'), headers)).text).toBe('real answer');
  });

  it.each([
    { status: 400, type: 'invalid_request_error' },
    { status: 401, type: 'authentication_error' },
    { status: 403, type: 'permission_error' },
    { status: 429, type: 'rate_limit_error' },
    { status: 500, type: 'api_error' },
    { status: 529, type: 'overloaded_error' },
  ])('anthropic-messages: an error turn with status $status answers {type: error, error: {type: $type}} and records zero usage', async ({ status, type }) => {
    llm = await startFakeLlm({ defaultScript: [{ type: 'error', status, message: 'scripted failure' }] });
    const answer = await anthropicCall(llm.url, requestFor('anthropic-messages', true, 'x'));
    expect(answer.status).toBe(status);
    expect(answer.error).toEqual({ type: 'error', error: { type, message: 'scripted failure' } });
    expect(llm.requests[0]!.usage).toEqual({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });
  });

  it('openai-chat: an error turn records zero usage', async () => {
    llm = await startFakeLlm({ defaultScript: [{ type: 'error', status: 429, message: 'slow down' }] });
    const answer = await openaiCall(llm.url, requestFor('openai-chat', false, 'x'));
    expect([answer.status, (answer.error as any).error.message]).toEqual([429, 'slow down']);
    expect(llm.totalUsage()).toEqual({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });
  });

  it('anthropic-messages: a body that is not a Messages request gets 400 in the Anthropic error format', async () => {
    llm = await startFakeLlm();
    const res = await fetch(`${llm.url}/messages`, { method: 'POST', body: '{"model":"m"}' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.type).toBe('invalid_request_error');
    expect(llm.requests).toHaveLength(0);
  });
});

describe('fake LLM auth per wire', () => {
  const KEY = 'provider-key-very-secret';
  it.each<{ name: string; wire: ModelWireFormat; headers: Record<string, string>; status: number }>([
    { name: 'openai-chat with the right bearer', wire: 'openai-chat', headers: { authorization: `Bearer ${KEY}` }, status: 200 },
    { name: 'openai-chat with a wrong bearer', wire: 'openai-chat', headers: { authorization: 'Bearer wrong' }, status: 401 },
    { name: 'openai-chat with only x-api-key', wire: 'openai-chat', headers: { 'x-api-key': KEY }, status: 401 },
    { name: 'anthropic-messages with the right x-api-key', wire: 'anthropic-messages', headers: { 'x-api-key': KEY }, status: 200 },
    { name: 'anthropic-messages with a wrong x-api-key', wire: 'anthropic-messages', headers: { 'x-api-key': 'wrong' }, status: 401 },
    { name: 'anthropic-messages with only a bearer', wire: 'anthropic-messages', headers: { authorization: `Bearer ${KEY}` }, status: 401 },
  ])('$name → $status', async ({ wire, headers, status }) => {
    llm = await startFakeLlm({ apiKey: KEY, defaultScript: [reply('ok')] });
    const answer = await call(wire, llm.url, requestFor(wire, false, 'x'), headers);
    expect(answer.status).toBe(status);
    if (status === 401) {
      if (wire === 'openai-chat') expect(answer.error).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_api_key' } });
      else expect(answer.error).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'invalid api key' } });
      expect(llm.requests).toHaveLength(0);
    } else {
      expect(answer.text).toBe('ok');
    }
  });

  it('records x-api-key (like authorization) only as a fingerprint, and the bare key fingerprint matches across wires', async () => {
    llm = await startFakeLlm({ defaultScript: [reply('a'), reply('b')] });
    await anthropicCall(llm.url, requestFor('anthropic-messages', false, 'x'), { 'x-api-key': KEY, 'x-session-id': 'ses_1' });
    await openaiCall(llm.url, requestFor('openai-chat', false, 'x'), { authorization: `Bearer ${KEY}` });
    const [anthropic, openai] = llm.requests;
    expect(anthropic!.authFingerprint).toMatch(/^sha256:[0-9a-f]{8}$/);
    expect(anthropic!.headers['x-api-key']).toBe(anthropic!.authFingerprint);
    expect(anthropic!.headers['anthropic-version']).toBe('2023-06-01');
    expect(anthropic!.headers['x-session-id']).toBe('ses_1');
    expect(openai!.headers.authorization).toBe(openai!.authFingerprint);
    expect(anthropic!.keyFingerprint).toBe(openai!.keyFingerprint);
    expect(anthropic!.keyFingerprint).not.toBeNull();
    expect(JSON.stringify(llm.requests)).not.toContain(KEY);
  });
});

describe('fake LLM totals and model list', () => {
  it('totalUsage sums the recorded usage, filtered by agent, model, wire or kind', async () => {
    llm = await startFakeLlm({ title: 'T', defaultScript: [reply('one'), reply('two two'), reply('three three three')] });
    const a = await openaiCall(llm.url, requestFor('openai-chat', true, 'x', 'gpt-x'), { 'x-gastown-agent-id': 'ag_a' });
    const b = await anthropicCall(llm.url, requestFor('anthropic-messages', true, 'y', 'claude-y'), { 'x-gastown-agent-id': 'ag_b' });
    const c = await anthropicCall(llm.url, requestFor('anthropic-messages', false, 'z', 'claude-y'), { 'x-gastown-agent-id': 'ag_a' });
    const title = await openaiCall(
      llm.url,
      {
        model: 'small',
        messages: [
          { role: 'system', content: 'You generate a title for the chat.' },
          { role: 'user', content: 'x' },
        ],
      },
      { 'x-gastown-agent-id': 'ag_a' },
    );
    const sum = (...us: Array<TokenUsage | null>) =>
      us.reduce<TokenUsage>(
        (t, u) => ({
          inputTokens: t.inputTokens + u!.inputTokens,
          outputTokens: t.outputTokens + u!.outputTokens,
          cacheReadTokens: t.cacheReadTokens + u!.cacheReadTokens,
          cacheWriteTokens: t.cacheWriteTokens + u!.cacheWriteTokens,
        }),
        { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
      );
    expect(llm.totalUsage()).toEqual(sum(a.usage, b.usage, c.usage, title.usage));
    expect(llm.totalUsage({ agentId: 'ag_a' })).toEqual(sum(a.usage, c.usage, title.usage));
    expect(llm.totalUsage({ model: 'claude-y' })).toEqual(sum(b.usage, c.usage));
    expect(llm.totalUsage({ wire: 'openai-chat' })).toEqual(sum(a.usage, title.usage));
    expect(llm.totalUsage({ agentId: 'ag_a', wire: 'anthropic-messages' })).toEqual(sum(c.usage));
    expect(llm.totalUsage({ kind: 'title' })).toEqual(sum(title.usage));
    expect(llm.totalUsage({ agentId: 'ag_nobody' })).toEqual(sum());
  });

  it.each([
    { name: 'default', options: {}, ids: ['fake-model'] },
    { name: 'options.model', options: { model: 'gpt-4o-mini' }, ids: ['gpt-4o-mini'] },
    { name: 'options.models', options: { models: ['claude-a', 'claude-b'] }, ids: ['claude-a', 'claude-b'] },
  ])('GET /v1/models lists $name in a shape both SDKs accept', async ({ options, ids }) => {
    llm = await startFakeLlm({ ...options, now: () => 1_700_000_000_000 });
    const body = (await (await fetch(`${llm.url}/models`)).json()) as any;
    expect(body).toEqual({
      object: 'list',
      data: ids.map((id) => ({
        id,
        object: 'model',
        type: 'model',
        display_name: id,
        created: 1_700_000_000,
        created_at: '2023-11-14T22:13:20.000Z',
        owned_by: 'fake-llm',
      })),
      has_more: false,
      first_id: ids[0],
      last_id: ids.at(-1),
    });
  });
});
