/**
 * Bad bodies on the agent lifecycle routes and refresh: the full body-shape table for `events`
 * and `refresh` (not covered by test/town/bad-bodies), the shapes bad-bodies lacks for the routes
 * it does cover, and out-of-range values per field. Each → typed 4xx, no state change (the
 * refresh credential is not consumed), no crash.
 */
import { LIMITS } from '@gastown/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers';
import { bodyShapeCases, expectHealthy, JSON_HEADERS, runRefusal, type BodyShapeKind, type RefusalCase } from './support';
import { agentPath, allSecrets, buildWorld, snapshotWorld, validHeartbeat, type World } from './world';

/** Kinds test/town/bad-bodies does not send. */
const NEW_KINDS: readonly BodyShapeKind[] = ['utf8', 'null', 'string', 'proto', 'noContentType', 'missingField'];

const event = (over: Record<string, unknown> = {}) => ({ id: 'evt_badinput01', type: 'session.idle', at: 1, data: {}, ...over });
const refreshPath = (w: World) => `/agent/towns/${w.town.id}/refresh`;

const SHAPE_CASES: RefusalCase<World>[] = [
  ...bodyShapeCases<World>({
    name: 'events',
    method: 'POST',
    path: (w) => agentPath(w, 'polecat', 'events'),
    token: (w) => w.polecat.token,
    shape: () => ({ valid: { events: [event()] }, wrongType: ['events', event()] }),
    required: 'events',
  }),
  ...bodyShapeCases<World>({
    name: 'refresh',
    method: 'POST',
    path: refreshPath,
    token: (w) => w.polecat.credentials.refreshCredential,
    shape: () => ({ valid: {}, wrongType: ['unused', 1] }),
    required: null,
    only: ['truncated', 'utf8', 'null', 'string', 'array', 'unknownField', 'proto', 'textPlain', 'noContentType', 'oversizedDeclared', 'oversizedChunked'],
  }),
  ...bodyShapeCases<World>({
    name: 'heartbeat',
    method: 'POST',
    path: (w) => agentPath(w, 'polecat', 'heartbeat'),
    token: (w) => w.polecat.token,
    shape: () => ({ valid: validHeartbeat, wrongType: ['pid', '7'] }),
    required: 'credential',
    only: NEW_KINDS,
  }),
  ...bodyShapeCases<World>({
    name: 'completion',
    method: 'POST',
    path: (w) => agentPath(w, 'polecat', 'completion'),
    token: (w) => w.polecat.token,
    shape: () => ({ valid: { outcome: 'completed' }, wrongType: ['outcome', 1] }),
    required: 'outcome',
    only: NEW_KINDS,
  }),
  ...bodyShapeCases<World>({
    name: 'merge-result',
    method: 'POST',
    path: (w) => agentPath(w, 'refinery', 'merge-result'),
    token: (w) => w.refinery.token,
    shape: (w) => ({ valid: { mergeRequestBeadId: w.mergeRequestId, outcome: 'merged', commitSha: 'b'.repeat(40) }, wrongType: ['outcome', null] }),
    required: 'mergeRequestBeadId',
    only: NEW_KINDS,
  }),
  ...bodyShapeCases<World>({
    name: 'tool sling',
    method: 'POST',
    path: (w) => agentPath(w, 'mayor', 'tools/sling'),
    token: (w) => w.mayor.token,
    shape: (w) => ({ valid: { rigId: w.rig.id, title: 'x' }, wrongType: ['title', 5] }),
    required: 'title',
    only: NEW_KINDS,
  }),
  ...bodyShapeCases<World>({
    name: 'tool list_beads',
    method: 'POST',
    path: (w) => agentPath(w, 'mayor', 'tools/list_beads'),
    token: (w) => w.mayor.token,
    shape: () => ({ valid: { status: 'open' }, wrongType: ['status', 1] }),
    required: null,
    only: NEW_KINDS,
  }),
];

/** One out-of-range value per case, on a body that is otherwise valid. */
function valueCase(name: string, who: 'polecat' | 'refinery', suffix: string, body: (w: World) => unknown): RefusalCase<World> {
  return { name, method: 'POST', path: (w) => agentPath(w, who, suffix), code: 'validation_failed', opts: (w) => ({ token: w[who].token, body: body(w) }) };
}
const hb = (over: Record<string, unknown>) => () => ({ ...validHeartbeat, ...over });
const hbCredential = (over: Record<string, unknown>) => () => ({ ...validHeartbeat, credential: { ...validHeartbeat.credential, ...over } });
const events = (list: unknown[]) => () => ({ events: list });

const VALUE_CASES: RefusalCase<World>[] = [
  valueCase('heartbeat: float pid', 'polecat', 'heartbeat', hb({ pid: 1.5 })),
  valueCase('heartbeat: empty containerInstanceId', 'polecat', 'heartbeat', hb({ containerInstanceId: '' })),
  valueCase('heartbeat: containerInstanceId of 101 chars', 'polecat', 'heartbeat', hb({ containerInstanceId: 'c'.repeat(101) })),
  valueCase('heartbeat: sessionId of 201 chars', 'polecat', 'heartbeat', hb({ sessionId: 's'.repeat(201) })),
  valueCase('heartbeat: unknown activity', 'polecat', 'heartbeat', hb({ activity: 'sleeping' })),
  valueCase(
    'heartbeat: credential fingerprint that is a whole token',
    'polecat',
    'heartbeat',
    hbCredential({ tokenFingerprint: 'eyJhbGciOiJIUzI1NiJ9.e30.x' }),
  ),
  valueCase('heartbeat: negative refresh count', 'polecat', 'heartbeat', hbCredential({ refreshCount: -1 })),
  valueCase('heartbeat: credential lastError of 201 chars', 'polecat', 'heartbeat', hbCredential({ lastError: 'e'.repeat(201) })),
  valueCase('heartbeat: unknown credential state', 'polecat', 'heartbeat', hbCredential({ state: 'immortal' })),
  valueCase('events: empty batch', 'polecat', 'events', events([])),
  valueCase(
    `events: ${LIMITS.maxEventsPerBatch + 1} events`,
    'polecat',
    'events',
    events(Array.from({ length: LIMITS.maxEventsPerBatch + 1 }, (_, i) => event({ id: `evt_${String(i).padStart(8, '0')}` }))),
  ),
  valueCase('events: id too short', 'polecat', 'events', events([event({ id: 'e1' })])),
  valueCase('events: id with a slash', 'polecat', 'events', events([event({ id: 'evt_../../etc' })])),
  valueCase('events: upper-case type', 'polecat', 'events', events([event({ type: 'Session.Idle' })])),
  valueCase('events: float time', 'polecat', 'events', events([event({ at: 1.25 })])),
  valueCase('events: data is an array', 'polecat', 'events', events([event({ data: [1] })])),
  valueCase('events: one good event and one bad (all or nothing)', 'polecat', 'events', events([event({ id: 'evt_goodone01' }), event({ id: 'x' })])),
  valueCase('completion: reason of 2001 chars', 'polecat', 'completion', () => ({ outcome: 'failed', reason: 'r'.repeat(2001) })),
  valueCase('merge-result: upper-case sha', 'refinery', 'merge-result', (w) => ({
    mergeRequestBeadId: w.mergeRequestId,
    outcome: 'merged',
    commitSha: 'B'.repeat(40),
  })),
  valueCase('merge-result: 39-char sha', 'refinery', 'merge-result', (w) => ({
    mergeRequestBeadId: w.mergeRequestId,
    outcome: 'merged',
    commitSha: 'b'.repeat(39),
  })),
  valueCase('merge-result: message of 4001 chars', 'refinery', 'merge-result', (w) => ({
    mergeRequestBeadId: w.mergeRequestId,
    outcome: 'failed',
    message: 'm'.repeat(4001),
  })),
  {
    name: 'events: 1e309 time (Infinity)',
    method: 'POST',
    path: (w) => agentPath(w, 'polecat', 'events'),
    code: 'validation_failed',
    opts: (w) => ({ token: w.polecat.token, rawBody: '{"events":[{"id":"evt_infinity1","type":"x","at":1e309,"data":{}}]}', headers: JSON_HEADERS }),
  },
];

const CASES = [...SHAPE_CASES, ...VALUE_CASES].map((c) => ({ ...c, secrets: allSecrets }));

let w: World;
beforeAll(async () => {
  w = await buildWorld();
});

describe('agent lifecycle and refresh routes × bad bodies', () => {
  it.each(CASES)('$name → $code, nothing changes', async (c) => {
    await runRefusal(w, c, snapshotWorld);
  });

  it('afterwards the worker is healthy, the refresh credential still rotates and the lifecycle routes accept valid bodies', async () => {
    await expectHealthy();
    const refreshed = await call('POST', refreshPath(w), { token: w.polecat.credentials.refreshCredential });
    expect(refreshed.status).toBe(200);
    const token = refreshed.body.accessToken as string;
    expect((await call('POST', agentPath(w, 'polecat', 'heartbeat'), { token, body: validHeartbeat })).status).toBe(200);
    expect((await call('POST', agentPath(w, 'polecat', 'events'), { token, body: { events: [event()] } })).body).toEqual({ accepted: 1, duplicates: 0 });
  });

  it('an unknown field inside the reported credential status (not strict in the protocol) is dropped, never stored', async () => {
    const smuggled = `eyJhbGciOiJIUzI1NiJ9.${'s'.repeat(40)}.smuggled`;
    const res = await call('POST', agentPath(w, 'refinery', 'heartbeat'), {
      token: w.refinery.token,
      body: { ...validHeartbeat, credential: { ...validHeartbeat.credential, accessToken: smuggled } },
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await snapshotWorld(w))).not.toContain(smuggled);
  });
});
