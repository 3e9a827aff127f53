/**
 * Hostile strings in the lifecycle bodies (completion branch, merge-result bead id, event id and
 * type) and in every path parameter of the agent API (town id, agent id, tool name). Each → its
 * typed 4xx (a path naming another town or agent than the token is 403 token_scope: the route is
 * refused for the credential before its parameters are looked at), nothing changes, no crash.
 */
import type { ErrorCode } from '@gastown/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers';
import { HOSTILE_STRINGS } from '@gastown/testkit/hostile-strings';
import { expectHealthy, runRefusal, type RefusalCase } from './support';
import { agentPath, buildWorld, snapshotWorld, type World } from './world';

interface Field {
  name: string;
  role: 'polecat' | 'refinery';
  suffix: string;
  body: (value: string, w: World) => unknown;
}

const event = (over: Record<string, unknown>) => ({ events: [{ id: 'evt_hostile01', type: 'session.idle', at: 1, data: {}, ...over }] });

const FIELDS: Field[] = [
  { name: 'completion branch', role: 'polecat', suffix: 'completion', body: (v) => ({ outcome: 'completed', branch: v }) },
  { name: 'merge-result mergeRequestBeadId', role: 'refinery', suffix: 'merge-result', body: (v) => ({ mergeRequestBeadId: v, outcome: 'failed' }) },
  { name: 'event id', role: 'polecat', suffix: 'events', body: (v) => event({ id: v }) },
  { name: 'event type', role: 'polecat', suffix: 'events', body: (v) => event({ type: v }) },
];

interface PathParam {
  name: string;
  code: ErrorCode;
  path: (value: string, w: World) => string;
  token: (w: World) => string;
}

const enc = encodeURIComponent;
const PATH_PARAMS: PathParam[] = [
  { name: 'agent id', code: 'token_scope', path: (v, w) => `/agent/towns/${w.town.id}/agents/${enc(v)}/heartbeat`, token: (w) => w.polecat.token },
  { name: 'town id', code: 'token_scope', path: (v, w) => `/agent/towns/${enc(v)}/agents/${w.polecat.agent.id}/tools/status`, token: (w) => w.polecat.token },
  { name: 'tool name', code: 'not_found', path: (v, w) => agentPath(w, 'polecat', `tools/${enc(v)}`), token: (w) => w.polecat.token },
  { name: 'refresh town id', code: 'validation_failed', path: (v) => `/agent/towns/${enc(v)}/refresh`, token: (w) => w.polecat.credentials.refreshCredential },
];

const CASES: RefusalCase<World>[] = [
  ...FIELDS.flatMap((f) =>
    HOSTILE_STRINGS.map((h): RefusalCase<World> => ({
      name: `${f.name} = ${h.name}`,
      method: 'POST',
      path: (w) => agentPath(w, f.role, f.suffix),
      code: 'validation_failed',
      opts: (w) => ({ token: w[f.role].token, body: f.body(h.value, w) }),
      secrets: () => [h.value],
    })),
  ),
  ...PATH_PARAMS.flatMap((p) =>
    HOSTILE_STRINGS.map((h): RefusalCase<World> => ({
      name: `${p.name} in the path = ${h.name}`,
      method: 'POST',
      path: (w) => p.path(h.value, w),
      code: p.code,
      opts: (w) => ({ token: p.token(w), body: { text: 'x' } }),
      secrets: (w) => [p.token(w)],
    })),
  ),
];

let w: World;
beforeAll(async () => {
  w = await buildWorld();
});

describe('agent lifecycle routes and agent path parameters × hostile strings', () => {
  it.each(CASES)('$name → $code, nothing changes', async (c) => {
    await runRefusal(w, c, snapshotWorld);
  });

  it('afterwards the worker is healthy and the same routes accept good values', async () => {
    await expectHealthy();
    expect((await call('POST', agentPath(w, 'polecat', 'events'), { token: w.polecat.token, body: event({}) })).status).toBe(200);
    expect((await call('POST', agentPath(w, 'polecat', 'tools/status'), { token: w.polecat.token, body: { text: 'x' } })).status).toBe(200);
    expect(
      (await call('POST', agentPath(w, 'polecat', 'completion'), { token: w.polecat.token, body: { outcome: 'completed', branch: 'gt/polecat/work' } })).status,
    ).toBe(200);
  });
});
