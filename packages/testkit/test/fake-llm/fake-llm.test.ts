import { afterEach, describe, expect, it } from 'vitest';
import { callTool, callTools, reply, startFakeLlm, type ChatMessage, type FakeLlm } from '../../src/fake-llm/index';

let llm: FakeLlm | undefined;
afterEach(async () => {
  await llm?.stop();
  llm = undefined;
});

const TOOLS = [{ type: 'function', function: { name: 'gt_list_rigs', description: 'list rigs', parameters: { type: 'object', properties: {} } } }];

async function post(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Reassemble a streamed answer the way an OpenAI client does. */
async function readStream(res: Response) {
  const text = await res.text();
  const payloads = text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice(6));
  expect(payloads.at(-1)).toBe('[DONE]');
  const chunks = payloads.slice(0, -1).map((p) => JSON.parse(p));
  let content = '';
  const calls: Array<{ id: string; name: string; args: string }> = [];
  let finish: string | null = null;
  let usage: unknown = null;
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.finish_reason) finish = choice.finish_reason;
      if (choice.delta.content) content += choice.delta.content;
      for (const tc of choice.delta.tool_calls ?? []) {
        calls[tc.index] ??= { id: '', name: '', args: '' };
        const call = calls[tc.index]!;
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name += tc.function.name;
        if (tc.function?.arguments) call.args += tc.function.arguments;
      }
    }
  }
  return { content, calls, finish, usage, chunks };
}

const user = (text: string): ChatMessage => ({ role: 'user', content: text });

describe('fake LLM', () => {
  it('streams a scripted tool call, then text, with a final usage chunk', async () => {
    llm = await startFakeLlm({ scripts: { ag_mayor01: [callTool('gt_list_rigs', {}), reply('Two rigs.')] } });
    const headers = { 'x-gastown-agent-id': 'ag_mayor01' };
    const first = await readStream(
      await post(llm.url, { model: 'm', stream: true, stream_options: { include_usage: true }, messages: [user('hi')], tools: TOOLS }, headers),
    );
    expect(first.finish).toBe('tool_calls');
    expect(first.calls).toHaveLength(1);
    expect(first.calls[0]!.name).toBe('gt_list_rigs');
    expect(JSON.parse(first.calls[0]!.args)).toEqual({});
    expect(first.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    expect(first.chunks.at(-1).choices).toEqual([]);

    const second = await readStream(await post(llm.url, { model: 'm', stream: true, messages: [user('hi')], tools: TOOLS }, headers));
    expect(second.content).toBe('Two rigs.');
    expect(second.finish).toBe('stop');
    expect(second.usage).toBeNull();
    expect(llm.remaining('ag_mayor01')).toBe(0);
  });

  it('answers non-streamed requests with one JSON body', async () => {
    llm = await startFakeLlm({
      defaultScript: [
        callTools([
          { name: 'a', arguments: { x: 1 } },
          { name: 'b', arguments: '{"y":2}', id: 'call_b' },
        ]),
      ],
    });
    const res = await post(llm.url, { model: 'm', stream: false, messages: [user('go')], tools: TOOLS });
    const body = (await res.json()) as any;
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0].finish_reason).toBe('tool_calls');
    const calls = body.choices[0].message.tool_calls;
    expect(calls.map((c: { function: { name: string } }) => c.function.name)).toEqual(['a', 'b']);
    expect(calls[1].id).toBe('call_b');
    expect(JSON.parse(calls[0].function.arguments)).toEqual({ x: 1 });
    expect(body.usage.total_tokens).toBeGreaterThan(0);
  });

  it('tells agents apart by header and falls back to the default script', async () => {
    llm = await startFakeLlm({ defaultScript: [reply('default')], scripts: { ag_aaaaaa: [reply('for a')] } });
    const a = (await (await post(llm.url, { model: 'm', messages: [user('x')] }, { 'x-gastown-agent-id': 'ag_aaaaaa' })).json()) as any;
    const b = (await (await post(llm.url, { model: 'm', messages: [user('x')] }, { 'x-gastown-agent-id': 'ag_bbbbbb' })).json()) as any;
    const c = (await (await post(llm.url, { model: 'm', messages: [user('x')] })).json()) as any;
    expect(a.choices[0].message.content).toBe('for a');
    expect(b.choices[0].message.content).toBe('default');
    expect(c.choices[0].message.content).toBe('fake-llm: no scripted turn left');
    expect(llm.requests.map((r) => [r.agentId, r.source])).toEqual([
      ['ag_aaaaaa', 'script'],
      ['ag_bbbbbb', 'default-script'],
      [null, 'exhausted'],
    ]);
  });

  it('answers title generation without consuming a script turn', async () => {
    llm = await startFakeLlm({ title: 'Rig listing', scripts: { ag_mayor01: [reply('real answer')] } });
    const headers = { 'x-gastown-agent-id': 'ag_mayor01' };
    const title = (await (
      await post(
        llm.url,
        {
          model: 'm',
          messages: [{ role: 'system', content: 'You are a title generator. You output ONLY a thread title.' }, user('list my rigs')],
        },
        headers,
      )
    ).json()) as any;
    expect(title.choices[0].message.content).toBe('Rig listing');
    expect(llm.remaining('ag_mayor01')).toBe(1);
    const real = (await (await post(llm.url, { model: 'm', messages: [user('list my rigs')], tools: TOOLS }, headers)).json()) as any;
    expect(real.choices[0].message.content).toBe('real answer');
    expect(llm.requests.map((r) => r.kind)).toEqual(['title', 'chat']);
    expect(llm.chatRequests('ag_mayor01')).toHaveLength(1);
  });

  it('lets a responder decide from the conversation and exposes the tool results seen', async () => {
    llm = await startFakeLlm();
    llm.setResponder((_req, ctx) => (ctx.lastMessage?.role === 'tool' ? reply(`saw ${ctx.toolResults.length}`) : callTool('gt_list_rigs')));
    const first = (await (await post(llm.url, { model: 'm', messages: [user('rigs?')], tools: TOOLS })).json()) as any;
    expect(first.choices[0].message.tool_calls[0].function.name).toBe('gt_list_rigs');
    const callId = first.choices[0].message.tool_calls[0].id as string;
    const history: ChatMessage[] = [
      user('rigs?'),
      { role: 'assistant', content: null, tool_calls: [{ id: callId, type: 'function', function: { name: 'gt_list_rigs', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: callId, content: '{"rigs":[]}' },
    ];
    const second = (await (await post(llm.url, { model: 'm', messages: history, tools: TOOLS })).json()) as any;
    expect(second.choices[0].message.content).toBe('saw 1');
    // The same history sent again is not counted twice.
    await post(llm.url, { model: 'm', messages: [...history, { role: 'assistant', content: 'saw 1' }, user('again')], tools: TOOLS });
    expect(llm.toolResults()).toEqual([{ toolCallId: callId, name: 'gt_list_rigs', content: '{"rigs":[]}' }]);
  });

  it('records headers but only a fingerprint of the authorization value', async () => {
    llm = await startFakeLlm({ defaultScript: [reply('ok')] });
    await post(llm.url, { model: 'm', messages: [user('x')] }, { authorization: 'Bearer super-secret-key-123', 'x-session-id': 'ses_1' });
    const [recorded] = llm.requests;
    expect(recorded!.authFingerprint).toMatch(/^sha256:[0-9a-f]{8}$/);
    expect(recorded!.headers.authorization).toBe(recorded!.authFingerprint);
    expect(recorded!.headers['x-session-id']).toBe('ses_1');
    expect(JSON.stringify(llm.requests)).not.toContain('super-secret-key-123');
  });

  it('enforces the api key when one is configured', async () => {
    llm = await startFakeLlm({ apiKey: 'provider-key', defaultScript: [reply('ok')] });
    expect((await post(llm.url, { model: 'm', messages: [user('x')] }, { authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await post(llm.url, { model: 'm', messages: [user('x')] }, { authorization: 'Bearer provider-key' });
    expect(ok.status).toBe(200);
  });

  it('plays error turns as HTTP errors and rejects malformed bodies', async () => {
    llm = await startFakeLlm({ defaultScript: [{ type: 'error', status: 503, message: 'overloaded' }] });
    const res = await post(llm.url, { model: 'm', messages: [user('x')] });
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).error.message).toBe('overloaded');
    const bad = await fetch(`${llm.url}/chat/completions`, { method: 'POST', body: 'nope' });
    expect(bad.status).toBe(400);
  });

  it('waitFor resolves on a later request and rejects on timeout', async () => {
    llm = await startFakeLlm({ defaultScript: [reply('a')] });
    const waiting = llm.waitFor((reqs) => reqs.length === 1, 5_000);
    await post(llm.url, { model: 'm', messages: [user('x')] });
    await expect(waiting).resolves.toBeUndefined();
    await expect(llm.waitFor((reqs) => reqs.length === 5, 50)).rejects.toThrow(/not met/);
  });
});
