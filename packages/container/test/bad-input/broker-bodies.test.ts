/**
 * The local broker API (agent process → broker, loopback) × bad input: every tool route × every
 * bad body shape, hostile tool names, wrong methods, and LLM-proxy paths that try to leave the
 * provider's base path. Each → typed 4xx; the control plane sees no tool call, the provider no
 * request outside its base path; the broker keeps serving.
 */
import { TOOL_NAMES, type ToolName } from '@gastown/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_STRINGS } from '@gastown/testkit/hostile-strings';
import {
  bodyShapeCases,
  expectHealthy,
  rawHttp,
  runRefusal,
  send,
  startStack,
  type BodyShape,
  type BodyShapeKind,
  type RefusalCase,
  type Stack,
  type Started,
} from './support';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

type Who = 'mayor' | 'polecat' | 'refinery';
const NO_FIELDS: readonly BodyShapeKind[] = [
  'truncated',
  'utf8',
  'null',
  'string',
  'array',
  'unknownField',
  'proto',
  'textPlain',
  'noContentType',
  'oversizedDeclared',
  'oversizedChunked',
];

const TOOL_SHAPES: Record<ToolName, { who: Who; shape: (st: Stack) => BodyShape; required: string | null }> = {
  sling: { who: 'mayor', shape: () => ({ valid: { rigId: 'rig_abc123', title: 'work' }, wrongType: ['title', 5] }), required: 'title' },
  list_rigs: { who: 'mayor', shape: () => ({ valid: {}, wrongType: ['x', 1] }), required: null },
  list_beads: { who: 'mayor', shape: () => ({ valid: { status: 'open' }, wrongType: ['status', 1] }), required: null },
  list_agents: { who: 'mayor', shape: () => ({ valid: {}, wrongType: ['x', 1] }), required: null },
  mail_send: { who: 'polecat', shape: () => ({ valid: { to: 'mayor', subject: 'hi' }, wrongType: ['subject', 1] }), required: 'subject' },
  mail_check: { who: 'polecat', shape: () => ({ valid: {}, wrongType: ['x', 1] }), required: null },
  done: { who: 'polecat', shape: () => ({ valid: { branch: 'gt/ag_polecat01/bd_badinput1' }, wrongType: ['branch', 1] }), required: 'branch' },
  request_changes: {
    who: 'refinery',
    shape: () => ({ valid: { mergeRequestBeadId: 'bd_mr000001', feedback: 'more' }, wrongType: ['feedback', 1] }),
    required: 'feedback',
  },
  escalate: { who: 'polecat', shape: () => ({ valid: { title: 'stuck' }, wrongType: ['severity', 'dire'] }), required: 'title' },
  status: { who: 'refinery', shape: () => ({ valid: { text: 'reviewing' }, wrongType: ['text', 1] }), required: 'text' },
  prime: { who: 'polecat', shape: () => ({ valid: {}, wrongType: ['x', 1] }), required: null },
  bead_status: { who: 'polecat', shape: () => ({ valid: { beadId: 'bd_badinput1' }, wrongType: ['beadId', 1] }), required: 'beadId' },
  bead_update: { who: 'mayor', shape: () => ({ valid: { beadId: 'bd_badinput1', priority: 1 }, wrongType: ['priority', 'high'] }), required: 'beadId' },
  sling_batch: {
    who: 'mayor',
    shape: () => ({ valid: { name: 'a convoy', beads: [{ rigId: 'rig_abc123', title: 'work' }] }, wrongType: ['beads', 'all of them'] }),
    required: 'name',
  },
  list_convoys: { who: 'mayor', shape: () => ({ valid: { status: 'open' }, wrongType: ['status', 1] }), required: null },
  convoy_status: { who: 'mayor', shape: () => ({ valid: { convoyId: 'cv_badinput1' }, wrongType: ['convoyId', 1] }), required: 'convoyId' },
  nudge: { who: 'mayor', shape: () => ({ valid: { agentId: 'ag_polecat01', text: 'hurry' }, wrongType: ['text', 1] }), required: 'text' },
};

const agent = (st: Stack, who: Who): Started => st[who];
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const toolUrl = (st: Stack, tool: string) => `${st.container.brokerUrl}/broker/tools/${tool}`;

const SHAPE_CASES: RefusalCase[] = TOOL_NAMES.flatMap((tool) => {
  const t = TOOL_SHAPES[tool];
  return bodyShapeCases({
    name: `tool ${tool}`,
    url: (st) => toolUrl(st, tool),
    headers: (st) => bearer(agent(st, t.who).brokerKey),
    shape: t.shape,
    required: t.required,
    ...(t.required === null && !['list_beads'].includes(tool) ? { only: NO_FIELDS } : {}),
  });
});

const PATH_CASES: RefusalCase[] = [
  ...HOSTILE_STRINGS.map((h): RefusalCase => ({
    name: `tool name = ${h.name}`,
    code: 'not_found',
    send: (st) => send('POST', toolUrl(st, encodeURIComponent(h.value)), { headers: bearer(st.mayor.brokerKey), json: {} }),
    echo: () => [h.value],
  })),
  { name: 'GET a tool route', code: 'not_found', send: (st) => send('GET', toolUrl(st, 'list_rigs'), { headers: bearer(st.mayor.brokerKey) }) },
  { name: 'PUT a tool route', code: 'not_found', send: (st) => send('PUT', toolUrl(st, 'list_rigs'), { headers: bearer(st.mayor.brokerKey), json: {} }) },
  {
    name: 'raw ../ out of the tool routes',
    code: 'not_found',
    send: (st) =>
      rawHttp(
        st.container.brokerUrl,
        `POST /broker/tools/../../agents HTTP/1.1\nauthorization: Bearer ${st.mayor.brokerKey}\ncontent-type: application/json\ncontent-length: 2`,
        '{}',
      ),
  },
];

/** Paths that try to climb out of the LLM proxy (and the provider's base path). */
const ESCAPES = [
  '/broker/llm/v1/../../../admin',
  '/broker/llm/v1/%2e%2e/%2e%2e/admin',
  '/broker/llm/v1/..%2f..%2fadmin',
  '/broker/llm/../../agents',
  '/broker/llm/v1/models/../../../../etc/passwd',
];

describe('broker API × bad input', () => {
  it.each([...SHAPE_CASES, ...PATH_CASES])('$name → $code, the control plane sees nothing', async (c) => {
    await runRefusal(s, c);
  });

  it.each(ESCAPES)('LLM proxy path %s never reaches the provider outside its base path', async (path) => {
    const before = s.provider.seen.length;
    const res = await rawHttp(s.container.brokerUrl, `GET ${path} HTTP/1.1\nauthorization: Bearer ${s.mayor.brokerKey}`);
    const seen = s.provider.seen.slice(before).map((r) => r.url);
    expect({ path, outside: seen.filter((u) => !u.startsWith('/v1/') || /(^|\/)\.\.(\/|$)|%2e/i.test(u)) }).toEqual({ path, outside: [] });
    if (seen.length === 0) expect(res.body?.error?.code, res.text).toBe('not_found');
  });

  it('afterwards the broker is healthy and every tool passes its valid body to the control plane', async () => {
    await expectHealthy(s);
    const before = s.cp.requestsFor('tool').length;
    for (const tool of TOOL_NAMES) {
      const t = TOOL_SHAPES[tool];
      const res = await send('POST', toolUrl(s, tool), { headers: bearer(agent(s, t.who).brokerKey), json: t.shape(s).valid });
      expect({ tool, reachedControlPlane: res.status !== 401 && res.status !== 415 && res.body?.error?.code !== 'validation_failed' }).toEqual({
        tool,
        reachedControlPlane: true,
      });
    }
    expect(s.cp.requestsFor('tool').length - before).toBe(TOOL_NAMES.length);
  });
});
