/**
 * Every agent route × every bad credential: the right status and code, and no state change
 * (every row of every table of the towns involved is identical before and after, so the
 * handler never ran). Each route ends with a positive control: the same request with the right
 * token succeeds, so the failures are the credential's doing and not the request's.
 */
import { TOOL_NAMES, type CredentialStatus } from '@gastown/protocol';
import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  call,
  callTool,
  createTown,
  createUserToken,
  dispatchMayor,
  setupTown,
  snapshotTown,
  ownBranch,
  spawnAgent,
  type AgentWithCredentials,
  type TownFixture,
} from '../helpers';

type Role = 'mayor' | 'polecat' | 'refinery';

interface World extends TownFixture {
  mergeRequestId: string;
  /** A convoy of the town (for gt_convoy_status). */
  convoyId: string;
  otherTownMayor: AgentWithCredentials;
  stopped: Record<Role, AgentWithCredentials>;
  userTokenOfOwner: string;
}

interface RouteCase {
  name: string;
  role: Role;
  /** path under /agent/towns/:townId/agents/:agentId/ */
  suffix: string;
  body: (w: World) => unknown;
}

const credential: CredentialStatus = {
  accessTokenExpiresAt: 4_102_444_800_000,
  tokenFingerprint: 'abcdef01',
  nextRefreshAt: null,
  lastRefreshAt: null,
  lastRefreshSource: 'dispatch',
  refreshCount: 0,
  consecutiveFailures: 0,
  unauthorizedCount: 0,
  lastError: null,
  state: 'valid',
};

const TOOL_CASES: Record<(typeof TOOL_NAMES)[number], { role: Role; body: (w: World) => unknown }> = {
  sling: { role: 'mayor', body: (w) => ({ rigId: w.rig.id, title: 'more work' }) },
  list_rigs: { role: 'polecat', body: () => ({}) },
  list_beads: { role: 'refinery', body: () => ({}) },
  list_agents: { role: 'mayor', body: () => ({}) },
  mail_send: { role: 'polecat', body: () => ({ to: 'mayor', subject: 'hello' }) },
  mail_check: { role: 'mayor', body: () => ({}) },
  done: { role: 'polecat', body: (w) => ({ branch: ownBranch(w.polecat) }) },
  request_changes: { role: 'refinery', body: (w) => ({ mergeRequestBeadId: w.mergeRequestId, feedback: 'more tests' }) },
  escalate: { role: 'polecat', body: () => ({ title: 'stuck' }) },
  status: { role: 'refinery', body: () => ({ text: 'reviewing' }) },
  prime: { role: 'polecat', body: () => ({}) },
  bead_status: { role: 'polecat', body: (w) => ({ beadId: w.bead.id }) },
  bead_update: { role: 'mayor', body: (w) => ({ beadId: w.bead.id, priority: 1 }) },
  sling_batch: { role: 'mayor', body: (w) => ({ name: 'a convoy', beads: [{ rigId: w.rig.id, title: 'batch work' }] }) },
  list_convoys: { role: 'mayor', body: () => ({}) },
  convoy_status: { role: 'mayor', body: (w) => ({ convoyId: w.convoyId }) },
  nudge: { role: 'mayor', body: (w) => ({ agentId: w.polecat.agent.id, text: 'look at the failing test first' }) },
};

const ROUTES: RouteCase[] = [
  ...TOOL_NAMES.map((tool) => ({ name: `tool ${tool}`, role: TOOL_CASES[tool].role, suffix: `tools/${tool}`, body: TOOL_CASES[tool].body })),
  {
    name: 'heartbeat',
    role: 'polecat',
    suffix: 'heartbeat',
    body: () => ({ containerInstanceId: 'ci-1', runtimeState: 'running', activity: 'working', credential, pid: 1, sessionId: null }),
  },
  { name: 'events', role: 'polecat', suffix: 'events', body: () => ({ events: [{ id: 'evt_00000001', type: 'session.idle', at: 1, data: {} }] }) },
  { name: 'completion', role: 'polecat', suffix: 'completion', body: () => ({ outcome: 'completed' }) },
  {
    name: 'merge-result',
    role: 'refinery',
    suffix: 'merge-result',
    body: (w) => ({ mergeRequestBeadId: w.mergeRequestId, outcome: 'merged', commitSha: 'b'.repeat(40) }),
  },
];

const WRONG_SECRET = 'a-secret-that-is-not-in-the-ring-0123456789abcdef';
const K2_SECRET = 'test-secret-two-0123456789abcdef0123456789';
const encoder = new TextEncoder();

function resign(token: string, header: { alg: string; kid?: string }, secret: string): Promise<string> {
  return new SignJWT(decodeJwt(token)).setProtectedHeader(header as { alg: 'HS256'; kid?: string }).sign(encoder.encode(secret));
}

interface BadCase {
  name: string;
  status: number;
  code: string;
  /** the agent named by the path, and the Authorization header to send */
  make: (w: World, route: RouteCase) => Promise<{ agent: AgentWithCredentials; authorization: string | null }>;
  /** system time to set while the request runs */
  at?: (w: World, route: RouteCase) => number;
}

const agentFor = (w: World, role: Role): AgentWithCredentials => (role === 'mayor' ? w.mayor : role === 'polecat' ? w.polecat : w.refinery);
const otherAgent = (w: World, role: Role): AgentWithCredentials => (role === 'polecat' ? w.refinery : w.polecat);

const BAD_CASES: BadCase[] = [
  { name: 'no token', status: 401, code: 'token_missing', make: async (w, r) => ({ agent: agentFor(w, r.role), authorization: null }) },
  { name: 'malformed token', status: 401, code: 'token_malformed', make: async (w, r) => ({ agent: agentFor(w, r.role), authorization: 'Bearer not.a.jwt' }) },
  {
    name: 'bad signature',
    status: 401,
    code: 'token_bad_signature',
    make: async (w, r) => {
      const a = agentFor(w, r.role);
      return { agent: a, authorization: `Bearer ${await resign(a.token, { alg: 'HS256', kid: 'k2' }, WRONG_SECRET)}` };
    },
  },
  {
    name: 'unknown kid',
    status: 401,
    code: 'token_unknown_key',
    make: async (w, r) => {
      const a = agentFor(w, r.role);
      return { agent: a, authorization: `Bearer ${await resign(a.token, { alg: 'HS256', kid: 'k9' }, K2_SECRET)}` };
    },
  },
  {
    name: 'alg none',
    status: 401,
    code: 'token_malformed',
    make: async (w, r) => {
      const a = agentFor(w, r.role);
      return { agent: a, authorization: `Bearer ${new UnsecuredJWT(decodeJwt(a.token)).encode()}` };
    },
  },
  {
    name: 'expired beyond tolerance',
    status: 401,
    code: 'token_expired',
    make: async (w, r) => ({ agent: agentFor(w, r.role), authorization: `Bearer ${agentFor(w, r.role).token}` }),
    at: (w, r) => agentFor(w, r.role).credentials.accessTokenExpiresAt + 61_000,
  },
  {
    name: 'a user token',
    status: 401,
    code: 'token_malformed',
    make: async (w, r) => ({ agent: agentFor(w, r.role), authorization: `Bearer ${w.userTokenOfOwner}` }),
  },
  {
    name: "another town's agent token",
    status: 403,
    code: 'token_scope',
    make: async (w, r) => ({ agent: agentFor(w, r.role), authorization: `Bearer ${w.otherTownMayor.token}` }),
  },
  {
    name: "another agent's token",
    status: 403,
    code: 'token_scope',
    make: async (w, r) => ({ agent: agentFor(w, r.role), authorization: `Bearer ${otherAgent(w, r.role).token}` }),
  },
  {
    name: "a stopped agent's token",
    status: 401,
    code: 'token_revoked',
    make: async (w, r) => ({ agent: w.stopped[r.role], authorization: `Bearer ${w.stopped[r.role].token}` }),
  },
];

async function stop(userToken: string, who: AgentWithCredentials): Promise<void> {
  const res = await call('POST', `/api/towns/${who.agent.townId}/agents/${who.agent.id}/stop`, { token: userToken });
  expect(res.status).toBe(200);
}

async function buildWorld(): Promise<World> {
  const f = await setupTown();
  const other = await setupTown();
  // an MR for request_changes / merge-result, from a second polecat (the first keeps its bead in progress)
  const bead2 = (await callTool(f.mayor, 'sling', { rigId: f.rig.id, title: 'second' })).body.bead;
  const polecat2 = await spawnAgent(f.town.id, { role: 'polecat', rigId: f.rig.id, beadId: bead2.id });
  const mergeRequestId = (await callTool(polecat2, 'done', { branch: ownBranch(polecat2) })).body.mergeRequest.id as string;
  // stopped agents of every role (the stopped mayor lives in its own town: one mayor per town)
  const stoppedPolecat = await spawnAgent(f.town.id, { role: 'polecat', rigId: f.rig.id });
  const stoppedRefinery = await spawnAgent(f.town.id, { role: 'refinery', rigId: f.rig.id });
  const mayorTown = await createTown(f.userToken);
  const stoppedMayor = await dispatchMayor(f.userToken, mayorTown.id);
  for (const a of [stoppedPolecat, stoppedRefinery, stoppedMayor]) await stop(f.userToken, a);
  const convoy = await call('POST', `/api/towns/${f.town.id}/convoys`, { token: f.userToken, body: { name: 'a convoy', beadIds: [f.bead.id] } });
  return {
    ...f,
    mergeRequestId,
    convoyId: convoy.body.convoy.id as string,
    otherTownMayor: other.mayor,
    stopped: { mayor: stoppedMayor, polecat: stoppedPolecat, refinery: stoppedRefinery },
    userTokenOfOwner: f.userToken,
  };
}

async function snapshots(w: World): Promise<unknown> {
  return {
    main: await snapshotTown(w.town.id),
    mayorTown: await snapshotTown(w.stopped.mayor.agent.townId),
    other: await snapshotTown(w.otherTownMayor.agent.townId),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('agent routes × bad credentials', () => {
  it('the hand-built tokens are what they claim to be', async () => {
    const w = await buildWorld();
    const bad = await resign(w.polecat.token, { alg: 'HS256', kid: 'k9' }, K2_SECRET);
    expect(decodeProtectedHeader(bad).kid).toBe('k9');
    expect(decodeJwt(bad)).toEqual(decodeJwt(w.polecat.token));
    expect(new UnsecuredJWT({}).encode().endsWith('.')).toBe(true);
  });

  it.each(ROUTES)('$name: every bad credential is refused before the handler runs', async (route) => {
    const w = await buildWorld();
    for (const bad of BAD_CASES) {
      const { agent, authorization } = await bad.make(w, route);
      const path = `/agent/towns/${agent.agent.townId}/agents/${agent.agent.id}/${route.suffix}`;
      const before = await snapshots(w);
      if (bad.at) vi.setSystemTime(bad.at(w, route));
      const res = await call('POST', path, { headers: authorization ? { authorization } : {}, body: route.body(w) });
      vi.useRealTimers();
      expect({ case: bad.name, status: res.status, code: res.body?.error?.code }).toEqual({ case: bad.name, status: bad.status, code: bad.code });
      expect(JSON.stringify(res.body)).not.toContain('stack');
      expect(await snapshots(w), `state changed: ${route.name} / ${bad.name}`).toEqual(before);
    }
    // positive control: the same request with the right token works and (for writes) changes state
    // (a nudge needs a container that runs the agent)
    if (route.name === 'tool nudge') await (await import('../support/fake-container')).installFakeContainer(w.town.id);
    const good = agentFor(w, route.role);
    const res = await call('POST', `/agent/towns/${w.town.id}/agents/${good.agent.id}/${route.suffix}`, { token: good.token, body: route.body(w) });
    expect({ route: route.name, status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({ route: route.name, status: 200, body: 'ok' });
  });

  it('a token of an earlier generation is revoked after a re-dispatch', async () => {
    const w = await buildWorld();
    const { issue } = await import('../helpers');
    const old = w.polecat;
    const fresh = await issue(w.town.id, old.agent.id);
    const before = await snapshots(w);
    const res = await callTool(old, 'status', { text: 'old gen' });
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 401, code: 'token_revoked' });
    expect(await snapshots(w)).toEqual(before);
    expect((await callTool(fresh, 'status', { text: 'new gen' })).status).toBe(200);
  });

  it('within the clock tolerance an expired token still works', async () => {
    const w = await buildWorld();
    vi.setSystemTime(w.polecat.credentials.accessTokenExpiresAt + 30_000);
    const res = await callTool(w.polecat, 'status', { text: 'skewed' });
    vi.useRealTimers();
    expect(res.status).toBe(200);
  });
});

describe('refresh route: bad credentials', () => {
  it('needs a bearer refresh credential', async () => {
    const token = await createUserToken();
    const town = await createTown(token);
    const cases = [
      { name: 'none', headers: {} as Record<string, string>, code: 'token_missing' },
      { name: 'garbage', headers: { authorization: 'Bearer nonsense' }, code: 'refresh_invalid' },
      { name: 'unknown', headers: { authorization: `Bearer gtr_${'A'.repeat(43)}` }, code: 'refresh_invalid' },
    ];
    for (const c of cases) {
      const res = await call('POST', `/agent/towns/${town.id}/refresh`, { headers: c.headers });
      expect({ name: c.name, status: res.status, code: res.body.error?.code }).toEqual({ name: c.name, status: 401, code: c.code });
    }
  });
});
