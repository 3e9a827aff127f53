/**
 * Bad uploads and reads of the agent session routes (binary bodies: they pass authentication but
 * not the JSON body guard, and check size, media type, headers and checksum themselves). Each →
 * a typed 4xx, no change to the town's tables nor to the R2 bucket, no credential echoed, no crash.
 */
import { SESSION_SNAPSHOT_LIMITS, type SessionSnapshotMeta } from '@gastown/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { issue, type AgentWithCredentials } from '../helpers';
import { makeSnapshot, sessionPath, sha256Hex, townObjects } from '../support/session-snapshots';
import { runRefusals, type RefusalCase } from './support';
import { allSecrets, buildWorld, snapshotWorld, type World } from './world';

interface SessionWorld extends World {
  snap: Awaited<ReturnType<typeof makeSnapshot>>;
  /** The mayor's token of the generation before its current one. */
  staleMayor: AgentWithCredentials;
}

const snapshotState = async (w: SessionWorld) => ({ tables: await snapshotWorld(w), objects: await townObjects(w.town.id) });

function put(
  name: string,
  code: RefusalCase<SessionWorld>['code'],
  o: {
    who?: (w: SessionWorld) => AgentWithCredentials;
    token?: (w: SessionWorld) => string | null;
    headers?: (w: SessionWorld) => Record<string, string | null>;
    body?: (w: SessionWorld) => BodyInit;
  } = {},
): RefusalCase<SessionWorld> {
  return {
    name: `PUT session: ${name}`,
    method: 'PUT',
    code,
    path: (w) => sessionPath(o.who?.(w) ?? w.mayor),
    opts: (w) => {
      const headers: Record<string, string> = {};
      const wanted = {
        'content-type': 'application/gzip',
        'x-gastown-snapshot-sha256': w.snap.sha256,
        'x-gastown-snapshot-meta': JSON.stringify(w.snap.meta),
        ...o.headers?.(w),
      };
      for (const [k, v] of Object.entries(wanted)) if (v !== null) headers[k] = v;
      const token = o.token ? o.token(w) : (o.who?.(w) ?? w.mayor).token;
      return { token, headers, rawBody: o.body?.(w) ?? (w.snap.bytes as Uint8Array<ArrayBuffer>) };
    },
    secrets: allSecrets,
  };
}

const meta = (w: SessionWorld, over: Record<string, unknown>) =>
  JSON.stringify({ ...w.snap.meta, ...over } satisfies Partial<SessionSnapshotMeta> & Record<string, unknown>);

/** `bytes` in 64 KiB chunks with no Content-Length (a client that does not declare its size). */
function chunked(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x1f);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

const CASES: RefusalCase<SessionWorld>[] = [
  put('no token', 'token_missing', { token: () => null }),
  put('a polecat', 'role_forbidden', { who: (w) => w.polecat }),
  put('a refinery', 'role_forbidden', { who: (w) => w.refinery }),
  put("another agent's path", 'token_scope', { who: (w) => w.mayor, token: (w) => w.polecat.token }),
  put('a token of an earlier generation', 'token_revoked', { token: (w) => w.staleMayor.token }),
  put('text/plain', 'unsupported_media_type', { headers: () => ({ 'content-type': 'text/plain' }) }),
  put('application/json', 'unsupported_media_type', { headers: () => ({ 'content-type': 'application/json' }) }),
  put('no content-type', 'unsupported_media_type', { headers: () => ({ 'content-type': null }) }),
  put('over the limit (declared)', 'payload_too_large', { body: () => new Uint8Array(SESSION_SNAPSHOT_LIMITS.maxBytes + 1) }),
  put('over the limit (streamed, no length)', 'payload_too_large', { body: () => chunked(SESSION_SNAPSHOT_LIMITS.maxBytes + 64 * 1024) }),
  put('no meta header', 'validation_failed', { headers: () => ({ 'x-gastown-snapshot-meta': null }) }),
  put('meta not JSON', 'bad_json', { headers: () => ({ 'x-gastown-snapshot-meta': '{"format":' }) }),
  put('meta: unknown key', 'validation_failed', { headers: (w) => ({ 'x-gastown-snapshot-meta': meta(w, { extra: 1 }) }) }),
  put('meta: negative turns', 'validation_failed', { headers: (w) => ({ 'x-gastown-snapshot-meta': meta(w, { turns: -1 }) }) }),
  put('meta: another format', 'validation_failed', { headers: (w) => ({ 'x-gastown-snapshot-meta': meta(w, { format: 'gastown.session/0' }) }) }),
  put('meta: unknown runtime', 'validation_failed', { headers: (w) => ({ 'x-gastown-snapshot-meta': meta(w, { runtime: 'vim' }) }) }),
  put('meta: an array', 'validation_failed', { headers: () => ({ 'x-gastown-snapshot-meta': '[]' }) }),
  put('no checksum header', 'validation_failed', { headers: () => ({ 'x-gastown-snapshot-sha256': null }) }),
  put('checksum in upper case', 'validation_failed', { headers: (w) => ({ 'x-gastown-snapshot-sha256': w.snap.sha256.toUpperCase() }) }),
  put('checksum too short', 'validation_failed', { headers: (w) => ({ 'x-gastown-snapshot-sha256': w.snap.sha256.slice(1) }) }),
  put('empty body', 'validation_failed', { body: () => new Uint8Array(0) }),
  put('a torn body', 'snapshot_corrupt', { body: (w) => w.snap.bytes.slice(0, -5) as Uint8Array<ArrayBuffer> }),
  put('another body than its checksum', 'snapshot_corrupt', { body: () => new TextEncoder().encode('not the snapshot') }),
];

describe('agent session routes: bad input', () => {
  let w: SessionWorld;

  beforeAll(async () => {
    const world = await buildWorld();
    const staleMayor = world.mayor;
    const mayor = await issue(world.town.id, world.mayor.agent.id); // gen + 1: the world's mayor token is now stale
    w = { ...world, mayor, staleMayor, snap: await makeSnapshot() };
  });

  it('every bad upload → typed 4xx, nothing stored, no credential echoed', async () => {
    await runRefusals(w, CASES, snapshotState);
    expect(await townObjects(w.town.id)).toEqual([]);
  });

  it('a body that is not gzip (even with a matching checksum) → 400 validation_failed, nothing stored', async () => {
    const plain = new TextEncoder().encode('{"format":"gastown.session/1"}');
    const sha = await sha256Hex(plain);
    await runRefusals(w, [put('not gzip', 'validation_failed', { headers: () => ({ 'x-gastown-snapshot-sha256': sha }), body: () => plain })], snapshotState);
  });

  it('GET: wrong roles, stale and foreign tokens → typed 4xx', async () => {
    const get = (
      name: string,
      code: RefusalCase<SessionWorld>['code'],
      who: (w: SessionWorld) => AgentWithCredentials,
      token?: (w: SessionWorld) => string,
    ): RefusalCase<SessionWorld> => ({
      name: `GET session: ${name}`,
      method: 'GET',
      code,
      path: (x) => sessionPath(who(x)),
      opts: (x) => ({ token: token ? token(x) : who(x).token }),
      secrets: allSecrets,
    });
    await runRefusals(
      w,
      [
        get('a polecat', 'role_forbidden', (x) => x.polecat),
        get('a refinery', 'role_forbidden', (x) => x.refinery),
        get(
          'a token of an earlier generation',
          'token_revoked',
          (x) => x.mayor,
          (x) => x.staleMayor.token,
        ),
        get(
          "another agent's path",
          'token_scope',
          (x) => x.mayor,
          (x) => x.polecat.token,
        ),
        get('nothing stored', 'not_found', (x) => x.mayor),
      ],
      snapshotState,
    );
  });
});
