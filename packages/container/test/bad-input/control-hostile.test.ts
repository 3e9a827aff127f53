/**
 * Hostile strings in every id, name, branch and git URL the control API takes (path agent ids,
 * start requests, merge requests): each → 400 validation_failed before any state exists — no run
 * in the agent list, no git process (nothing new in the data dir), no control-plane call, the
 * value never echoed. Shell metacharacters inside a valid remote are inert: git gets them as one
 * argument and no shell ever sees them.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_GIT_URLS, HOSTILE_STRINGS, type Hostile } from '@gastown/testkit/hostile-strings';
import { expectHealthy, identity, keyHeaders, runRefusal, send, snapshot, startStack, type RefusalCase, type Stack } from './support';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

const enc = encodeURIComponent;
const NEW_REFINERY = identity('refinery', 'ag_refinery3', 'rig_abc123');
const NEW_POLECAT = identity('polecat', 'ag_polecat03', 'rig_abc123');

function hostile(name: string, h: Hostile, send_: RefusalCase['send']): RefusalCase {
  return { name: `${name} = ${h.name}`, code: 'validation_failed', send: send_, echo: () => [h.value] };
}

const PATH_ROUTES = [
  { name: 'GET /agents/:id', method: 'GET', suffix: '', body: undefined },
  { name: 'messages path id', method: 'POST', suffix: '/messages', body: { text: 'hi' } },
  { name: 'credentials path id', method: 'POST', suffix: '/credentials', body: {} },
  { name: 'stop path id', method: 'POST', suffix: '/stop', body: {} },
];

const rigOf = (st: Stack) => ({ ...st.fx.rig, gitUrl: st.fx.originPath });
const startWith = (who: typeof NEW_REFINERY, patch: (st: Stack, body: Record<string, any>) => unknown) => async (st: Stack) =>
  send('POST', `${st.container.url}/agents`, { headers: keyHeaders(), json: patch(st, (await st.startRequest(who)) as unknown as Record<string, any>) });
const merge = (patch: (st: Stack) => Record<string, unknown>) => (st: Stack) =>
  send('POST', `${st.container.url}/git/merge`, {
    headers: keyHeaders(),
    json: {
      agentId: st.refinery.identity.id,
      rig: rigOf(st),
      mergeRequestBeadId: 'bd_mr000001',
      branch: 'gt/ag_polecat01/bd_badinput1',
      commit: 'a'.repeat(40),
      message: 'Merge',
      ...patch(st),
    },
  });

const GIT_URLS = [...HOSTILE_STRINGS, ...HOSTILE_GIT_URLS];

const CASES: RefusalCase[] = [
  ...PATH_ROUTES.flatMap((r) =>
    HOSTILE_STRINGS.map((h) =>
      hostile(r.name, h, (st) =>
        send(r.method, `${st.container.url}/agents/${enc(h.value)}${r.suffix}`, { headers: keyHeaders(), ...(r.body ? { json: r.body } : {}) }),
      ),
    ),
  ),
  ...HOSTILE_STRINGS.map((h) =>
    hostile(
      'start agent.id',
      h,
      startWith(NEW_REFINERY, (_st, b) => ({ ...b, agent: { ...b.agent, id: h.value } })),
    ),
  ),
  ...HOSTILE_STRINGS.map((h) =>
    hostile(
      'start rig.defaultBranch',
      h,
      startWith(NEW_REFINERY, (st, b) => ({ ...b, rig: { ...rigOf(st), defaultBranch: h.value } })),
    ),
  ),
  ...HOSTILE_STRINGS.map((h) =>
    hostile(
      'start bead.id',
      h,
      startWith(NEW_POLECAT, (_st, b) => ({ ...b, bead: { ...b.bead, id: h.value } })),
    ),
  ),
  ...GIT_URLS.map((h) =>
    hostile(
      'start rig.gitUrl',
      h,
      startWith(NEW_REFINERY, (st, b) => ({ ...b, rig: { ...rigOf(st), gitUrl: h.value } })),
    ),
  ),
  ...HOSTILE_STRINGS.map((h) =>
    hostile(
      'merge branch',
      h,
      merge(() => ({ branch: h.value })),
    ),
  ),
  ...GIT_URLS.map((h) =>
    hostile(
      'merge rig.gitUrl',
      h,
      merge((st) => ({ rig: { ...rigOf(st), gitUrl: h.value } })),
    ),
  ),
];

describe('container control API × hostile strings', () => {
  it.each(CASES)('$name → $code, nothing created', async (c) => {
    await runRefusal(s, c);
  });

  it('shell metacharacters inside a valid remote are inert: the start fails typed and no command ran', async () => {
    const marker = join(tmpdir(), `gastown-pwned-${process.pid}-${Date.now()}`);
    const gitUrl = `/nonexistent/$(touch\${IFS}${marker})/\`touch\${IFS}${marker}\`;touch\${IFS}${marker}|x.git`;
    const res = await send('POST', `${s.container.url}/agents`, {
      headers: keyHeaders(),
      json: await s.startRequest(NEW_REFINERY, { rig: { ...rigOf(s), gitUrl } }),
    });
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 502, code: 'upstream_failed' });
    expect(existsSync(marker)).toBe(false);
  });

  it('a well-formed remote git cannot clone is 502 upstream_failed (the remote failed, not the container), the run listed as failed', async () => {
    const who = identity('refinery', 'ag_refinery5', 'rig_abc123');
    const res = await send('POST', `${s.container.url}/agents`, {
      headers: keyHeaders(),
      json: await s.startRequest(who, { rig: { ...rigOf(s), gitUrl: '/nonexistent/repo.git' } }),
    });
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 502, code: 'upstream_failed' });
    const status = await send('GET', `${s.container.url}/agents/${who.id}`, { headers: keyHeaders() });
    expect(status.body.runtimeState).toBe('failed');
  });

  it('afterwards the container is healthy and still starts an agent with a good rig', async () => {
    await expectHealthy(s);
    const before = (await snapshot(s)) as { agents: { agents: unknown[] } };
    const res = await send('POST', `${s.container.url}/agents`, {
      headers: keyHeaders(),
      json: await s.startRequest(identity('refinery', 'ag_refinery4', 'rig_abc123')),
    });
    expect(res.status).toBe(200);
    expect(((await snapshot(s)) as { agents: { agents: unknown[] } }).agents.agents).toHaveLength(before.agents.agents.length + 1);
  });
});
