import { asGastownError, GastownError, SESSION_SNAPSHOT_CONTENT_TYPE } from '@gastown/protocol';
import { describeUnexpected, type Logger } from '../town/rpc-result';

/**
 * Where session snapshot bytes live: R2 (binding SESSIONS, bucket gastown-sessions). One object per
 * stored snapshot, never rewritten: a new snapshot is a new key, and the TownDO's record says which
 * key is current (the one before is deleted once the new one is recorded).
 */
export interface SnapshotStore {
  /** Store bytes whose SHA-256 (hex) is known; R2 checks it on arrival and refuses a mismatch. */
  put(key: string, bytes: Uint8Array, sha256: string): Promise<void>;
  /** The stored bytes, or null when there is no such object. */
  get(key: string): Promise<Uint8Array | null>;
  delete(key: string): Promise<void>;
}

/**
 * The object key of an agent's snapshot stored at `storedAt` (ms): time-ordered within the agent's
 * prefix, and `unique` keeps two stores in the same millisecond apart.
 */
export function snapshotObjectKey(townId: string, agentId: string, storedAt: number, unique: string): string {
  return `towns/${townId}/agents/${agentId}/session/${storedAt}-${unique}.json.gz`;
}

/**
 * The R2-backed store. Without the binding (a deployment that lacks it) every call fails with
 * config_invalid — the rest of the worker keeps working, and a mayor without durable sessions
 * starts fresh each time. R2 failures are 502 upstream_failed.
 */
export function r2SnapshotStore(bucket: R2Bucket | undefined, logger: Logger): SnapshotStore {
  const need = (): R2Bucket => {
    if (!bucket) throw new GastownError('config_invalid', 'the SESSIONS R2 bucket binding is missing (see docs/DEPLOYMENT.md)');
    return bucket;
  };
  return {
    async put(key, bytes, sha256) {
      const r2 = need();
      await failAsUpstream(logger, 'put', () => r2.put(key, bytes, { sha256, httpMetadata: { contentType: SESSION_SNAPSHOT_CONTENT_TYPE } }));
    },
    async get(key) {
      const r2 = need();
      return failAsUpstream(logger, 'get', async () => {
        const object = await r2.get(key);
        return object ? new Uint8Array(await object.arrayBuffer()) : null;
      });
    },
    async delete(key) {
      const r2 = need();
      await failAsUpstream(logger, 'delete', () => r2.delete(key));
    },
  };
}

/** An R2 failure is logged (its name and first line: no content) and becomes 502 upstream_failed. */
async function failAsUpstream<T>(logger: Logger, operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    logger.warn({ msg: 'session store failed', operation, error: describeUnexpected(err) });
    throw asGastownError(err, 'upstream_failed', `the session store failed (${operation})`);
  }
}
