/**
 * Bad bodies on every tool route that test/town/bad-bodies does not already cover (it covers
 * sling and list_beads): malformed and non-UTF-8 JSON, non-object JSON, wrong types, unknown and
 * missing fields, a `__proto__` key, wrong or absent media types, oversized bodies (declared and
 * chunked). Each → its typed 4xx, no state change; then /health and a valid call of each tool.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, ownBranch } from '../helpers';
import { bodyShapeCases, expectHealthy, runRefusal, type BodyShape, type BodyShapeKind, type RefusalCase } from './support';
import { agentPath, buildWorld, snapshotWorld, type World } from './world';

type Role = 'mayor' | 'polecat' | 'refinery';

interface ToolTarget {
  tool: string;
  role: Role;
  shape: (w: World) => BodyShape;
  required: string | null;
}

const EMPTY: (w: World) => BodyShape = () => ({ valid: {}, wrongType: ['unused', 1] });
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

const TARGETS: ToolTarget[] = [
  { tool: 'list_rigs', role: 'polecat', shape: EMPTY, required: null },
  { tool: 'list_agents', role: 'mayor', shape: EMPTY, required: null },
  { tool: 'mail_check', role: 'mayor', shape: EMPTY, required: null },
  { tool: 'prime', role: 'polecat', shape: EMPTY, required: null },
  { tool: 'mail_send', role: 'polecat', shape: () => ({ valid: { to: 'mayor', subject: 'hello' }, wrongType: ['subject', 42] }), required: 'subject' },
  { tool: 'done', role: 'polecat', shape: (w) => ({ valid: { branch: ownBranch(w.polecat) }, wrongType: ['branch', ['gt/a']] }), required: 'branch' },
  {
    tool: 'request_changes',
    role: 'refinery',
    shape: (w) => ({ valid: { mergeRequestBeadId: w.mergeRequestId, feedback: 'more tests' }, wrongType: ['feedback', { text: 'x' }] }),
    required: 'feedback',
  },
  { tool: 'escalate', role: 'polecat', shape: () => ({ valid: { title: 'stuck' }, wrongType: ['severity', 3] }), required: 'title' },
  { tool: 'status', role: 'refinery', shape: () => ({ valid: { text: 'reviewing' }, wrongType: ['text', true] }), required: 'text' },
  { tool: 'bead_status', role: 'polecat', shape: (w) => ({ valid: { beadId: w.bead.id }, wrongType: ['beadId', 12] }), required: 'beadId' },
];

const CASES: RefusalCase<World>[] = TARGETS.flatMap((t) =>
  bodyShapeCases<World>({
    name: `tool ${t.tool}`,
    method: 'POST',
    path: (w) => agentPath(w, t.role, `tools/${t.tool}`),
    token: (w) => w[t.role].token,
    shape: t.shape,
    required: t.required,
    ...(t.required === null ? { only: NO_FIELDS } : {}),
  }),
);

let w: World;
beforeAll(async () => {
  w = await buildWorld();
});

describe('tool routes × bad bodies', () => {
  it('the table covers every target with every applicable kind', () => {
    expect(CASES).toHaveLength(4 * NO_FIELDS.length + 6 * 13);
  });

  it.each(CASES)('$name → $code, nothing changes', async (c) => {
    await runRefusal(w, c, snapshotWorld);
  });

  it('afterwards the worker is healthy and the valid body of every target succeeds', async () => {
    await expectHealthy();
    for (const t of TARGETS) {
      const res = await call('POST', agentPath(w, t.role, `tools/${t.tool}`), { token: w[t.role].token, body: t.shape(w).valid });
      expect({ tool: t.tool, status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({ tool: t.tool, status: 200, body: 'ok' });
    }
  });
});
