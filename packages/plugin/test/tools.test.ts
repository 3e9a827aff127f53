import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentRoleSchema, GastownError, TOOLS, TOOL_NAMES, type AgentRole, type ToolName } from '@gastown/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTool, buildTools, roleFrom, TOOL_COPY, toolArgs, type ToolDeps } from '../src/index';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

/** A tiny broker stand-in: records each call and answers from `reply`. */
let server: Server;
let brokerUrl = '';
let seen: Seen[] = [];
let reply: (req: IncomingMessage) => { status: number; body: string } = () => ({ status: 200, body: '{}' });

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body: text ? JSON.parse(text) : null });
    const { status, body } = reply(req);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  brokerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
  reply = () => ({ status: 200, body: '{}' });
});

function deps(env: Record<string, string | undefined> = { GASTOWN_BROKER_URL: brokerUrl, GASTOWN_AGENT_KEY: 'broker-key-1' }): ToolDeps {
  return { env: () => env, fetch };
}

/** ARCHITECTURE.md, "Agents": the tools each role must at least be offered. */
const ARCHITECTURE_TOOLS: Record<AgentRole, readonly string[]> = {
  mayor: ['gt_sling', 'gt_list_rigs', 'gt_list_beads', 'gt_list_agents', 'gt_mail_send', 'gt_mail_check', 'gt_escalate'],
  polecat: ['gt_prime', 'gt_bead_status', 'gt_done', 'gt_list_beads', 'gt_mail_send', 'gt_mail_check', 'gt_escalate', 'gt_status'],
  refinery: ['gt_prime', 'gt_bead_status', 'gt_done', 'gt_request_changes', 'gt_list_beads', 'gt_mail_send', 'gt_mail_check', 'gt_escalate', 'gt_status'],
};

describe('role tables', () => {
  const cases = AgentRoleSchema.options.flatMap((role) =>
    TOOL_NAMES.map((tool) => {
      const allowed = (TOOLS[tool].roles as readonly string[]).includes(role);
      return { name: `${role} ${allowed ? 'is' : 'is not'} offered gt_${tool}`, role, tool, allowed };
    }),
  );
  it.each(cases)('$name, as the protocol allows', ({ role, tool, allowed }) => {
    expect(Object.keys(buildTools(role, deps())).includes(`gt_${tool}`)).toBe(allowed);
  });

  it.each(AgentRoleSchema.options.map((role) => ({ name: role, role })))('$name is offered every tool ARCHITECTURE.md lists for it', ({ role }) => {
    expect(Object.keys(buildTools(role, deps()))).toEqual(expect.arrayContaining([...ARCHITECTURE_TOOLS[role]]));
  });

  it('registers the tools of the role, prefixed gt_', () => {
    expect(Object.keys(buildTools('polecat', deps()))).toContain('gt_done');
    expect(Object.keys(buildTools('polecat', deps()))).not.toContain('gt_request_changes');
    expect(Object.keys(buildTools('refinery', deps()))).toContain('gt_request_changes');
    expect(Object.keys(buildTools('refinery', deps()))).toContain('gt_done');
    expect(Object.keys(buildTools('refinery', deps()))).not.toContain('gt_sling');
  });

  it.each([
    { name: 'missing', value: undefined },
    { name: 'unknown', value: 'admin' },
  ])('rejects a $name role with validation_failed', ({ value }) => {
    try {
      roleFrom(value);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GastownError);
      expect((error as GastownError).code).toBe('validation_failed');
    }
  });
});

describe('argument schemas', () => {
  it.each(TOOL_NAMES.map((tool) => ({ name: tool, tool })))('$name: every property is a JSON Schema object with a description', ({ tool }) => {
    for (const schema of Object.values(toolArgs(tool))) {
      expect(typeof schema).toBe('object');
      expect(typeof schema.description).toBe('string');
      expect(JSON.stringify(schema)).not.toContain('"$schema"');
    }
  });

  it('offers optional arguments as nullable and required ones as plain', () => {
    const args = toolArgs('sling');
    expect(args.rigId).toMatchObject({ type: 'string', pattern: expect.any(String) });
    expect(args.body).toMatchObject({ anyOf: [{ type: 'string' }, { type: 'null' }] });
    expect(toolArgs('list_beads').status).toMatchObject({ anyOf: [{ enum: expect.arrayContaining(['open']) }, { type: 'null' }] });
  });

  it('gt_done offers the reviewed commit (full id) and tells the reviewer to pass it', () => {
    expect(toolArgs('done').commit).toMatchObject({ anyOf: [{ type: 'string', pattern: '^[0-9a-f]{40}$' }, { type: 'null' }] });
    expect(toolArgs('done').commit!.description).toContain('metadata.commit');
    expect(TOOL_COPY.done.description).toContain('commit you reviewed');
  });
});

describe('execute', () => {
  it('validates, then posts to the broker with the agent key and returns the JSON result', async () => {
    reply = () => ({ status: 200, body: JSON.stringify({ bead: { id: 'bd_abcdef12' } }) });
    const out = await buildTool('sling', deps()).execute({ rigId: 'rig_abcdef12', title: ' Add flag ', body: null });
    expect(JSON.parse(out)).toEqual({ bead: { id: 'bd_abcdef12' } });
    expect(seen).toEqual([
      { method: 'POST', url: '/broker/tools/sling', authorization: 'Bearer broker-key-1', body: { rigId: 'rig_abcdef12', title: 'Add flag', body: '' } },
    ]);
  });

  const invalid: Array<{ name: string; tool: ToolName; args: unknown }> = [
    { name: 'bad rig id', tool: 'sling', args: { rigId: '../etc', title: 'x' } },
    { name: 'missing title', tool: 'sling', args: { rigId: 'rig_abcdef12' } },
    { name: 'unknown argument', tool: 'list_rigs', args: { extra: 1 } },
    { name: 'branch starting with a dash', tool: 'done', args: { branch: '-delete', summary: 'x' } },
    { name: 'abbreviated approval commit', tool: 'done', args: { branch: 'gt/ag_abcdef12/bd_abcdef12', mergeRequestBeadId: 'bd_abcdef13', commit: 'abc1234' } },
    { name: 'empty feedback', tool: 'request_changes', args: { mergeRequestBeadId: 'bd_abcdef12', feedback: '' } },
    { name: 'bad severity', tool: 'escalate', args: { title: 'x', severity: 'urgent' } },
  ];
  it.each(invalid)('rejects $name without calling the broker', async ({ tool, args }) => {
    const out = await buildTool(tool, deps()).execute(args);
    expect(out).toMatch(new RegExp(`^gt_${tool} failed: validation_failed: `));
    expect(seen).toEqual([]);
  });

  it('turns an error body into "gt_x failed: <code>: <message>"', async () => {
    reply = () => ({ status: 403, body: JSON.stringify({ error: { code: 'role_forbidden', message: 'polecats cannot sling' } }) });
    expect(await buildTool('list_rigs', deps()).execute({})).toBe('gt_list_rigs failed: role_forbidden: polecats cannot sling');
  });

  it('reports a non-JSON or non-error failure as upstream_failed', async () => {
    reply = () => ({ status: 502, body: 'bad gateway' });
    expect(await buildTool('list_rigs', deps()).execute({})).toMatch(/^gt_list_rigs failed: upstream_failed: .*HTTP 502/);
    reply = () => ({ status: 500, body: '{"oops":true}' });
    expect(await buildTool('list_rigs', deps()).execute({})).toMatch(/^gt_list_rigs failed: upstream_failed: .*HTTP 500/);
  });

  it('reports an unreachable broker and missing coordinates', async () => {
    const closed = await buildTool('list_rigs', deps({ GASTOWN_BROKER_URL: 'http://127.0.0.1:1', GASTOWN_AGENT_KEY: 'k' })).execute({});
    expect(closed).toMatch(/^gt_list_rigs failed: upstream_failed: the broker is unreachable/);
    const missing = await buildTool('list_rigs', deps({ GASTOWN_BROKER_URL: brokerUrl })).execute({});
    expect(missing).toBe('gt_list_rigs failed: internal: GASTOWN_AGENT_KEY is not set in the agent runtime');
  });

  it('reads the broker coordinates at call time, not at load time', async () => {
    const env: Record<string, string> = { GASTOWN_BROKER_URL: brokerUrl, GASTOWN_AGENT_KEY: 'first' };
    const tool = buildTool('mail_check', { env: () => env, fetch });
    await tool.execute({});
    env.GASTOWN_AGENT_KEY = 'second';
    await tool.execute({});
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer first', 'Bearer second']);
  });

  it('gives up after the timeout and honours the abort signal', async () => {
    reply = () => ({ status: 200, body: '{}' });
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    try {
      const slow = buildTool('list_rigs', { env: () => ({ GASTOWN_BROKER_URL: url, GASTOWN_AGENT_KEY: 'k' }), fetch, timeoutMs: 100 });
      expect(await slow.execute({})).toMatch(/^gt_list_rigs failed: upstream_failed: the broker did not answer/);
      const controller = new AbortController();
      const pending = slow.execute({}, { abort: controller.signal });
      controller.abort();
      expect(await pending).toBe('gt_list_rigs failed: aborted: the tool call was cancelled');
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});
