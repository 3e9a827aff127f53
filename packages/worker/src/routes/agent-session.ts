import type { OpenAPIHono } from '@hono/zod-openapi';
import {
  AGENT_API,
  GastownError,
  SESSION_SNAPSHOT_CONTENT_TYPE,
  SESSION_SNAPSHOT_LIMITS,
  SESSION_SNAPSHOT_META_HEADER,
  SESSION_SNAPSHOT_SHA256_HEADER,
  SessionSnapshotMetaSchema,
  Sha256HexSchema,
  type AgentClaims,
  type SessionSnapshotMeta,
  type SessionSnapshotRecord,
  readBoundedBytes,
} from '@gastown/protocol';
import { formatZodError } from '../http/errors';
import type { AppDeps, AppEnv } from '../http/types';
import { getSessionRoute, putSessionRoute } from '../openapi/session-routes';
import { sha256Hex } from '../sessions/digest';
import { snapshotObjectKey } from '../sessions/snapshot-store';
import { assertRole } from '../town/agent-authorization';
import { describeUnexpected, unwrap } from '../town/rpc-result';
import { SESSION_ROLES } from '../town/services/session-service';

/** gzip's magic number: every gzip stream starts with it. */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * The agent API's durable session routes (GET / PUT AGENT_API.session), mayor only. Their bodies are
 * binary, so app.ts registers them after agent authentication and before the JSON body guard;
 * they check size, media type and headers themselves, and document themselves in the OpenAPI
 * registry (openapi/session-routes.ts). The bytes go to R2 (deps.sessions); the TownDO records
 * which object is an agent's current snapshot, checking the token's generation and role.
 * A snapshot is stored only when its bytes match their SHA-256, and served only when they still do.
 */
export function registerAgentSessionRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const { directory, sessions, clock, ids, logger } = deps;
  app.openAPIRegistry.registerPath(putSessionRoute);
  app.openAPIRegistry.registerPath(getSessionRoute);

  app.put(AGENT_API.session, async function storeSession(c) {
    const claims = c.get('agentClaims');
    assertRole('session', SESSION_ROLES, claims.role);
    if (mediaType(c.req.header('content-type')) !== SESSION_SNAPSHOT_CONTENT_TYPE) {
      throw new GastownError('unsupported_media_type', `request body must be ${SESSION_SNAPSHOT_CONTENT_TYPE}`);
    }
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > SESSION_SNAPSHOT_LIMITS.maxBytes) {
      throw new GastownError('payload_too_large', `request body exceeds ${SESSION_SNAPSHOT_LIMITS.maxBytes} bytes`);
    }
    const meta = parseMetaHeader(c.req.header(SESSION_SNAPSHOT_META_HEADER));
    const sha256 = parseShaHeader(c.req.header(SESSION_SNAPSHOT_SHA256_HEADER));
    const bytes = await readBoundedBytes(c.req.raw, SESSION_SNAPSHOT_LIMITS.maxBytes);
    if (bytes.byteLength === 0) throw new GastownError('validation_failed', 'body: a session snapshot is required');
    // a torn or altered upload is never stored
    if ((await sha256Hex(bytes)) !== sha256) {
      throw new GastownError('snapshot_corrupt', `body does not match its ${SESSION_SNAPSHOT_SHA256_HEADER} header; nothing was stored`);
    }
    if (bytes[0] !== GZIP_MAGIC[0] || bytes[1] !== GZIP_MAGIC[1]) throw new GastownError('validation_failed', 'body: not gzip data');

    const storedAt = clock.now();
    const record: SessionSnapshotRecord = { ...meta, bytes: bytes.byteLength, sha256, storedAt };
    const { townId } = claims;
    const key = snapshotObjectKey(townId, claims.sub, storedAt, ids('ss').slice(3));
    await sessions.put(key, bytes, sha256);
    const recorded = await directory.town(townId).storeSession(claims, key, record);
    if (!recorded.ok) {
      await deleteQuietly(key, 'refused');
      unwrap(recorded);
    }
    const previousKey = recorded.ok ? recorded.value.previousKey : null;
    if (previousKey !== null) await deleteQuietly(previousKey, 'replaced');
    return c.json(record, 200);
  });

  app.get(AGENT_API.session, async function loadSession(c) {
    const claims = c.get('agentClaims');
    assertRole('session', SESSION_ROLES, claims.role);
    const town = directory.town(claims.townId);
    const stored = unwrap(await town.loadSession(claims));
    if (!stored) throw new GastownError('not_found', 'no session snapshot is stored for this agent');
    const bytes = await sessions.get(stored.objectKey);
    if (bytes === null) return corrupt(claims, 'the stored object is missing');
    if (bytes.byteLength !== stored.record.bytes || (await sha256Hex(bytes)) !== stored.record.sha256) {
      return corrupt(claims, 'the stored bytes do not match their checksum');
    }
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      'content-type': SESSION_SNAPSHOT_CONTENT_TYPE,
      'cache-control': 'no-store',
      [SESSION_SNAPSHOT_SHA256_HEADER]: stored.record.sha256,
      [SESSION_SNAPSHOT_META_HEADER]: JSON.stringify(metaOf(stored.record)),
    });
  });

  /** A stored snapshot that fails its check is never served: a town event, then 422 snapshot_corrupt. */
  async function corrupt(claims: AgentClaims, problem: string): Promise<never> {
    const reported = await directory.town(claims.townId).reportSessionCorrupt(claims, problem);
    if (!reported.ok) logger.warn({ msg: 'session corruption not recorded', townId: claims.townId, agentId: claims.sub, code: reported.error.code });
    throw new GastownError('snapshot_corrupt', `the stored session snapshot is corrupt (${problem}); it is not restored`);
  }

  /** Best effort: an object left behind costs storage only (the record never points at it). */
  async function deleteQuietly(key: string, why: string): Promise<void> {
    try {
      await sessions.delete(key);
    } catch (err) {
      logger.warn({ msg: 'session snapshot object not deleted', why, error: describeUnexpected(err) });
    }
  }
}

/** The media type of a Content-Type header (parameters dropped), lower case. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function parseMetaHeader(raw: string | undefined): SessionSnapshotMeta {
  if (raw === undefined) throw new GastownError('validation_failed', `header ${SESSION_SNAPSHOT_META_HEADER}: required`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new GastownError('bad_json', `header ${SESSION_SNAPSHOT_META_HEADER} is not valid JSON`);
  }
  const parsed = SessionSnapshotMetaSchema.safeParse(value);
  if (!parsed.success) throw new GastownError('validation_failed', formatZodError(parsed.error, `header ${SESSION_SNAPSHOT_META_HEADER}`));
  return parsed.data;
}

function parseShaHeader(raw: string | undefined): string {
  const parsed = Sha256HexSchema.safeParse(raw);
  if (!parsed.success)
    throw new GastownError('validation_failed', `header ${SESSION_SNAPSHOT_SHA256_HEADER}: must be a SHA-256 digest: 64 lower-case hex digits`);
  return parsed.data;
}

/** The meta header of a stored snapshot: its record's SessionSnapshotMeta fields. */
function metaOf(record: SessionSnapshotRecord): SessionSnapshotMeta {
  const { format, runtime, sessionId, savedAt, reason, turns, messages, rawBytes, droppedTurns } = record;
  return { format, runtime, sessionId, savedAt, reason, turns, messages, rawBytes, droppedTurns };
}
