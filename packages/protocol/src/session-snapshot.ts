/**
 * Durable agent sessions (the mayor's conversation): what the container saves to the control
 * plane and restores from it, so a conversation survives container sleep, wake, crash and deploy.
 *
 * Wire: `PUT /agent/towns/:townId/agents/:agentId/session` with the gzip-compressed JSON of a
 * `SessionSnapshot` as the body (`content-type: application/gzip`), its SHA-256 (hex) in
 * `x-gastown-snapshot-sha256` and its `SessionSnapshotMeta` (JSON) in `x-gastown-snapshot-meta`.
 * `GET` on the same path answers the stored bytes with the same two headers, or 404 not_found.
 * The body is checked against the checksum on both ends: a torn or altered snapshot is never
 * restored (`snapshot_corrupt`).
 */
import { z } from 'zod';
import { RuntimeKindSchema, SessionSaveReasonSchema, type SessionSnapshotSummary } from './models';

export const SESSION_SNAPSHOT_FORMAT = 'gastown.session/1';
export const SESSION_SNAPSHOT_SHA256_HEADER = 'x-gastown-snapshot-sha256';
export const SESSION_SNAPSHOT_META_HEADER = 'x-gastown-snapshot-meta';
export const SESSION_SNAPSHOT_CONTENT_TYPE = 'application/gzip';

export const SESSION_SNAPSHOT_LIMITS = {
  /** Largest compressed snapshot the control plane stores (the upload limit). */
  maxBytes: 16 * 1024 * 1024,
  /**
   * Largest uncompressed snapshot the container saves: past it the oldest turns are dropped
   * (whole turns, counted in `droppedTurns`) until it fits.
   */
  maxRawBytes: 48 * 1024 * 1024,
} as const;

export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest: 64 lower-case hex digits');

/** What the container says about a snapshot it uploads (the header `x-gastown-snapshot-meta`). */
export const SessionSnapshotMetaSchema = z
  .object({
    format: z.literal(SESSION_SNAPSHOT_FORMAT),
    runtime: RuntimeKindSchema,
    /** The runtime's own session id (kept across restores). */
    sessionId: z.string().min(1).max(200),
    /** Container clock, ms. */
    savedAt: z.number().int().nonnegative(),
    reason: SessionSaveReasonSchema,
    /** User turns in the snapshot (a turn: one user message and everything up to the next). */
    turns: z.number().int().nonnegative(),
    /** Messages (user and assistant) in the snapshot. */
    messages: z.number().int().nonnegative(),
    /** Size of the uncompressed JSON. */
    rawBytes: z.number().int().nonnegative(),
    /** Turns left out by the size policy (oldest first), over the life of the conversation. */
    droppedTurns: z.number().int().nonnegative(),
  })
  .strict();
export type SessionSnapshotMeta = z.infer<typeof SessionSnapshotMetaSchema>;

/** What the control plane records about the stored snapshot of an agent (no content). */
export const SessionSnapshotRecordSchema = SessionSnapshotMetaSchema.extend({
  /** Compressed size as stored. */
  bytes: z.number().int().nonnegative(),
  sha256: Sha256HexSchema,
  /** Control-plane clock, ms. */
  storedAt: z.number().int().nonnegative(),
});
export type SessionSnapshotRecord = z.infer<typeof SessionSnapshotRecordSchema>;

export function summariseSnapshot(record: SessionSnapshotRecord): SessionSnapshotSummary {
  const { savedAt, storedAt, bytes, rawBytes, turns, droppedTurns, reason } = record;
  return { savedAt, storedAt, bytes, rawBytes, turns, droppedTurns, reason };
}

/** One message of the runtime's session, as its API lists it (`GET /session/:id/message`). */
export const SessionMessageSchema = z.object({
  info: z.object({ id: z.string().min(1), role: z.string().min(1) }).passthrough(),
  parts: z.array(z.object({ type: z.string() }).passthrough()),
});
export type SessionMessage = z.infer<typeof SessionMessageSchema>;

/**
 * The uncompressed snapshot. `session` and `messages` are the runtime's export format
 * (`opencode export` / `opencode import`: `{info, messages: [{info, parts}]}`), redacted.
 */
export const SessionSnapshotSchema = z.object({
  format: z.literal(SESSION_SNAPSHOT_FORMAT),
  runtime: RuntimeKindSchema,
  sessionId: z.string().min(1).max(200),
  savedAt: z.number().int().nonnegative(),
  droppedTurns: z.number().int().nonnegative(),
  session: z.object({ id: z.string().min(1) }).passthrough(),
  messages: z.array(SessionMessageSchema),
});
export type SessionSnapshot = z.infer<typeof SessionSnapshotSchema>;

/** `DELETE /api/towns/:townId/mayor/session`: forget the mayor's conversation; the next message starts a new one. */
export const MayorSessionResetResponseSchema = z.object({
  /** Whether a stored snapshot was deleted. */
  deleted: z.boolean(),
  /** Whether a running mayor was stopped (its next message starts it with a fresh session). */
  stopped: z.boolean(),
});
export type MayorSessionResetResponse = z.infer<typeof MayorSessionResetResponseSchema>;
