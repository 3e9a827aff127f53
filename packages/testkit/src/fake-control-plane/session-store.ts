/**
 * The fake control plane's durable session snapshots (`AGENT_API.session`), kept in memory per
 * agent with the worker's checks: the body must match its SHA-256 header (else 422
 * snapshot_corrupt) and be gzip, the meta header must be a valid `SessionSnapshotMeta`, and a stored copy
 * that no longer matches its checksum is answered 422 snapshot_corrupt, never served.
 */
import { createHash } from 'node:crypto';
import {
  GastownError,
  SESSION_SNAPSHOT_CONTENT_TYPE,
  SESSION_SNAPSHOT_LIMITS,
  SessionSnapshotMetaSchema,
  Sha256HexSchema,
  type SessionSnapshotMeta,
  type SessionSnapshotRecord,
} from '@gastown/protocol';

export interface StoredSession {
  bytes: Buffer;
  sha256: string;
  meta: SessionSnapshotMeta;
  record: SessionSnapshotRecord;
}

/** How a test damages a stored snapshot. */
export type SessionCorruption =
  /** One byte flipped, the checksum kept: the store's own check fails (GET answers 422 snapshot_corrupt). */
  | 'store'
  /** Bytes that are not a gzip stream, with a matching checksum: served as is, the container's decode must refuse them. */
  | 'content';

export interface SessionPut {
  contentType: string | undefined;
  sha256: string | undefined;
  meta: string | undefined;
  bytes: Buffer;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class SessionStore {
  readonly #byAgent = new Map<string, StoredSession>();

  put(agentId: string, put: SessionPut, storedAt: number): SessionSnapshotRecord {
    if (put.contentType?.split(';')[0]?.trim() !== SESSION_SNAPSHOT_CONTENT_TYPE) {
      throw new GastownError('unsupported_media_type', `a session snapshot is sent as ${SESSION_SNAPSHOT_CONTENT_TYPE}`);
    }
    if (put.bytes.length > SESSION_SNAPSHOT_LIMITS.maxBytes) throw new GastownError('payload_too_large', 'session snapshot too large');
    const sha = Sha256HexSchema.safeParse(put.sha256);
    if (!sha.success) throw new GastownError('validation_failed', 'missing or malformed snapshot checksum header');
    const meta = SessionSnapshotMetaSchema.safeParse(parseJson(put.meta));
    if (!meta.success) throw new GastownError('validation_failed', 'missing or malformed snapshot meta header');
    if (put.bytes.length === 0) throw new GastownError('validation_failed', 'body: a session snapshot is required');
    if (sha256Hex(put.bytes) !== sha.data) throw new GastownError('snapshot_corrupt', 'the body does not match its checksum');
    if (put.bytes[0] !== 0x1f || put.bytes[1] !== 0x8b) throw new GastownError('validation_failed', 'body: not gzip data');
    const record: SessionSnapshotRecord = { ...meta.data, bytes: put.bytes.length, sha256: sha.data, storedAt };
    this.#byAgent.set(agentId, { bytes: Buffer.from(put.bytes), sha256: sha.data, meta: meta.data, record });
    return record;
  }

  /** The stored snapshot, checked; not_found when none, snapshot_corrupt when the copy fails its checksum. */
  get(agentId: string): StoredSession {
    const stored = this.#byAgent.get(agentId);
    if (stored === undefined) throw new GastownError('not_found', 'no stored session');
    if (sha256Hex(stored.bytes) !== stored.sha256) throw new GastownError('snapshot_corrupt', 'the stored session snapshot fails its checksum');
    return stored;
  }

  peek(agentId: string): StoredSession | null {
    return this.#byAgent.get(agentId) ?? null;
  }

  corrupt(agentId: string, how: SessionCorruption): void {
    const stored = this.#byAgent.get(agentId);
    if (stored === undefined) throw new GastownError('not_found', `fake control plane: no stored session for ${agentId}`);
    if (how === 'store') {
      const bytes = Buffer.from(stored.bytes);
      bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
      this.#byAgent.set(agentId, { ...stored, bytes });
      return;
    }
    const bytes = Buffer.from('this is not a gzip stream');
    this.#byAgent.set(agentId, { ...stored, bytes, sha256: sha256Hex(bytes), record: { ...stored.record, bytes: bytes.length, sha256: sha256Hex(bytes) } });
  }

  delete(agentId: string): boolean {
    return this.#byAgent.delete(agentId);
  }
}

function parseJson(value: string | undefined): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}
