/**
 * The control-plane client's session snapshot calls against the real HTTP fake control plane:
 * bytes and headers round-trip, the same auth and one reactive retry as every call, typed errors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GastownError, SESSION_SNAPSHOT_LIMITS, type AgentIdentity, type ErrorCode } from '@gastown/protocol';
import { encodeSnapshot } from '../../src/session';
import { exportOf } from '../supervisor/fakes';
import { AGENT } from './support';
import { T0, wire, type Wired } from './http-support';

const MAYOR: AgentIdentity = { ...AGENT, id: 'ag_mayor0001', role: 'mayor', rigId: null, name: 'mayor' };

let w: Wired | null = null;
afterEach(async () => {
  await w?.stop();
  w = null;
});

function snapshot(prompts = ['hello', 'and again']) {
  return encodeSnapshot({
    runtime: 'opencode',
    export: exportOf('ses_client0001', prompts),
    savedAt: T0,
    reason: 'message',
    droppedBefore: 0,
    redact: (s) => s,
  });
}

async function codeOf(promise: Promise<unknown>): Promise<ErrorCode | string | null> {
  return promise.then(
    () => null,
    (e: unknown) => (e instanceof GastownError ? e.code : `untyped:${String(e)}`),
  );
}

describe('control-plane client: session snapshots', () => {
  it('PUT then GET round-trips the bytes, checksum and meta; the record says what was stored', async () => {
    w = await wire({ agent: MAYOR });
    await expect(w.client.getSession()).resolves.toBeNull();
    const encoded = await snapshot();
    const record = await w.client.putSession(encoded);
    expect(record).toMatchObject({ ...encoded.meta, bytes: encoded.bytes.byteLength, sha256: encoded.sha256, storedAt: T0 });
    const got = await w.client.getSession();
    expect(got).not.toBeNull();
    expect(Buffer.from(got!.bytes).equals(Buffer.from(encoded.bytes))).toBe(true);
    expect(got!.sha256).toBe(encoded.sha256);
    expect(got!.meta).toEqual(encoded.meta);
    expect(w.cp.requestsFor('session').map((r) => [r.method, r.status, r.auth])).toEqual([
      ['GET', 404, 'valid'],
      ['PUT', 200, 'valid'],
      ['GET', 200, 'valid'],
    ]);
  });

  it('a 401 token_expired on the upload → one refresh and one retry with the same bytes', async () => {
    w = await wire({ agent: MAYOR });
    w.cp.failNextWith('token_expired', { route: 'session' });
    const encoded = await snapshot();
    await w.client.putSession(encoded);
    expect(w.cp.requestsFor('refresh')).toHaveLength(1);
    expect(w.cp.requestsFor('session').map((r) => [r.status, r.code])).toEqual([
      [401, 'token_expired'],
      [200, null],
    ]);
    expect(w.cp.storedSession(MAYOR.id)?.sha256).toBe(encoded.sha256);
  });

  it.each([
    { name: 'a stored copy that fails its checksum → snapshot_corrupt', corrupt: true, failure: null, code: 'snapshot_corrupt' },
    {
      name: 'the control plane answering 503 → control_plane_unavailable',
      corrupt: false,
      failure: 'control_plane_unavailable' as const,
      code: 'control_plane_unavailable',
    },
  ])('GET: $name', async ({ corrupt, failure, code }) => {
    w = await wire({ agent: MAYOR });
    await w.client.putSession(await snapshot());
    if (corrupt) w.cp.corruptSession(MAYOR.id, 'store');
    if (failure) w.cp.failNextWith(failure, { route: 'session' });
    expect(await codeOf(w.client.getSession())).toBe(code);
  });

  it('PUT: bytes that do not match their checksum are refused (422 snapshot_corrupt), nothing stored', async () => {
    w = await wire({ agent: MAYOR });
    const encoded = await snapshot();
    expect(await codeOf(w.client.putSession({ ...encoded, sha256: 'a'.repeat(64) }))).toBe('snapshot_corrupt');
    expect(w.cp.storedSession(MAYOR.id)).toBeNull();
  });

  it('PUT: a snapshot over the upload limit fails before any request (payload_too_large)', async () => {
    w = await wire({ agent: MAYOR });
    const encoded = await snapshot();
    const bytes = new Uint8Array(SESSION_SNAPSHOT_LIMITS.maxBytes + 1);
    expect(await codeOf(w.client.putSession({ ...encoded, bytes }))).toBe('payload_too_large');
    expect(w.cp.requestsFor('session')).toHaveLength(0);
  });

  it('an agent other than a mayor is refused (role_forbidden)', async () => {
    w = await wire();
    expect(await codeOf(w.client.putSession(await snapshot()))).toBe('role_forbidden');
    expect(await codeOf(w.client.getSession())).toBe('role_forbidden');
  });
});
