/**
 * A runtime session ⇄ the bytes the control plane stores (issue 12): the JSON of a
 * `SessionSnapshot` (protocol), gzip-compressed, with its SHA-256 (hex) and `SessionSnapshotMeta`.
 *
 * Encode = redact → size policy → JSON → gzip → SHA-256. Decode = size → SHA-256 → gunzip
 * (bounded) → JSON → format → runtime → schema; every failure is a
 * GastownError('snapshot_corrupt') whose message names what failed, never the content.
 *
 * Size policy (snapshot-trim.ts has the details):
 *  1. messages before the runtime's last completed compaction are dropped (it never sends them to
 *     the model again; opencode 1.18.33: a user message with a `compaction` part answered by an
 *     assistant `summary: true` message; from its `tail_start_id` when it kept a tail);
 *  2. while the raw JSON exceeds `maxRawBytes` (default SESSION_SNAPSHOT_LIMITS.maxRawBytes), the
 *     oldest whole turn is dropped, never the last one;
 *  3. should the gzip still exceed `maxBytes` (SESSION_SNAPSHOT_LIMITS.maxBytes, the upload limit;
 *     only incompressible content such as attachments gets there), the raw target shrinks in
 *     proportion and rule 2 runs again (a few rounds).
 * Turns dropped by these rules count in `droppedTurns`, on top of those dropped before this run
 * was restored. When the last turn alone is over a limit, encoding fails with payload_too_large.
 *
 * Redaction: every string of the session and its messages, keys and values, at any depth
 * (snapshot-redact.ts), before sizes are measured.
 *
 * Event loop: zlib runs in the thread pool (async); validation, redaction and JSON of the
 * messages run in slices of MESSAGES_PER_SLICE with a yield between them, so a conversation of
 * 1,000 turns holds the loop for one slice at a time, not for the whole save. The one long step
 * left is decode's JSON.parse of the whole snapshot (bench/session-snapshot has the numbers).
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { z } from 'zod';
import {
  GastownError,
  RuntimeKindSchema,
  SESSION_SNAPSHOT_FORMAT,
  SESSION_SNAPSHOT_LIMITS,
  SessionMessageSchema,
  SessionSnapshotMetaSchema,
  SessionSnapshotSchema,
  type RuntimeKind,
  type SessionMessage,
  type SessionSaveReason,
  type SessionSnapshot,
  type SessionSnapshotMeta,
} from '@gastown/protocol';
import { createTreeRedactor, type StringRedactor } from './snapshot-redact';
import { compactionStart, countTurns, dropForSize, lastTurnStart } from './snapshot-trim';

export { countTurns } from './snapshot-trim';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The runtime's export: `GET /session/:id` and `GET /session/:id/message` (the `opencode export` format). */
export interface SessionExport {
  session: { id: string } & Record<string, unknown>;
  messages: SessionMessage[];
}

export interface EncodeInput {
  runtime: RuntimeKind;
  export: SessionExport;
  /** ms, injected clock. */
  savedAt: number;
  reason: SessionSaveReason;
  /** droppedTurns of the snapshot this run was restored from (its session no longer has them). */
  droppedBefore: number;
  /** Redacts one string (keys and values): the container passes (s) => redactString(s, secrets.values()). */
  redact: StringRedactor;
  /** Default SESSION_SNAPSHOT_LIMITS.maxRawBytes. */
  maxRawBytes?: number;
  /** Largest gzip allowed; default SESSION_SNAPSHOT_LIMITS.maxBytes (the upload limit). */
  maxBytes?: number;
}

export interface EncodedSnapshot {
  /** gzip of the snapshot's JSON. */
  bytes: Uint8Array;
  /** SHA-256 of `bytes`, lower-case hex. */
  sha256: string;
  meta: SessionSnapshotMeta;
}

export interface DecodeExpectation {
  runtime: RuntimeKind;
  /** Default SESSION_SNAPSHOT_LIMITS.maxBytes. */
  maxBytes?: number;
  /** Default SESSION_SNAPSHOT_LIMITS.maxRawBytes: the gunzip stops there. */
  maxRawBytes?: number;
}

/** Rounds of rule 3 (gzip over maxBytes) before giving up. */
const MAX_SIZE_ROUNDS = 4;
/** Rule 3 aims this far under the proportional raw target, so one round usually suffices. */
const SIZE_ROUND_MARGIN = 0.9;

/** Messages handled between two yields to the event loop (validation, redaction, JSON). */
const MESSAGES_PER_SLICE = 100;

const SessionExportHeadSchema = z.object({
  session: z.object({ id: z.string().min(1).max(200) }).passthrough(),
  messages: z.array(z.unknown()),
});
const SnapshotHeadSchema = SessionSnapshotSchema.extend({ messages: z.array(z.unknown()) });

/** Let timers and I/O run: a conversation of thousands of messages is handled in slices. */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Where a schema check failed: a path of schema keys and indexes and the issue code (never a value). */
function describeIssue(error: z.ZodError, prefix: Array<string | number> = []): string {
  const issue = error.issues[0];
  if (!issue) return 'schema check failed';
  const path = [...prefix, ...issue.path].map(String).join('.') || '(root)';
  return `${path}: ${issue.code}${error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : ''}`;
}

/** Each message checked against SessionMessageSchema, in slices; the parsed copies, or where it failed. */
async function checkMessages(messages: readonly unknown[]): Promise<{ ok: true; messages: SessionMessage[] } | { ok: false; issue: string }> {
  const parsed: SessionMessage[] = [];
  for (let i = 0; i < messages.length; i += 1) {
    const result = SessionMessageSchema.safeParse(messages[i]);
    if (!result.success) return { ok: false, issue: describeIssue(result.error, ['messages', i]) };
    parsed.push(result.data);
    if (i % MESSAGES_PER_SLICE === MESSAGES_PER_SLICE - 1) await yieldToLoop();
  }
  return { ok: true, messages: parsed };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The snapshot's JSON up to the `[` of its messages (`messages` is the last key). */
function snapshotHead(fields: Omit<SessionSnapshot, 'messages'>): string {
  const json = JSON.stringify({
    format: fields.format,
    runtime: fields.runtime,
    sessionId: fields.sessionId,
    savedAt: fields.savedAt,
    droppedTurns: fields.droppedTurns,
    session: fields.session,
  });
  return `${json.slice(0, -1)},"messages":[`;
}
const SNAPSHOT_TAIL = ']}';

export async function encodeSnapshot(input: EncodeInput): Promise<EncodedSnapshot> {
  const maxRawBytes = input.maxRawBytes ?? SESSION_SNAPSHOT_LIMITS.maxRawBytes;
  const maxBytes = input.maxBytes ?? SESSION_SNAPSHOT_LIMITS.maxBytes;
  const shape = SessionExportHeadSchema.safeParse(input.export);
  const checked = shape.success ? await checkMessages(shape.data.messages) : { ok: false as const, issue: describeIssue(shape.error) };
  if (!checked.ok) throw new GastownError('validation_failed', `the runtime's session export is malformed at ${checked.issue}`);

  // rule 1 on the runtime's own data; then redact only what is kept, and measure it redacted
  // (the turn structure is read from the runtime's data: `kept[i]` is message i, unredacted)
  const all = input.export.messages;
  const turnsBefore = countTurns(all);
  const kept = all.slice(compactionStart(all));
  const redactTree = createTreeRedactor(input.redact);
  const session = redactTree(input.export.session);
  const sessionId = redactTree(input.export.session.id);
  const messageJson: string[] = [];
  const messageBytes: number[] = [];
  for (let i = 0; i < kept.length; i += 1) {
    const json = JSON.stringify(redactTree(kept[i]));
    messageJson.push(json);
    messageBytes.push(Buffer.byteLength(json));
    if (i % MESSAGES_PER_SLICE === MESSAGES_PER_SLICE - 1) await yieldToLoop();
  }
  const head = (droppedTurns: number) =>
    snapshotHead({ format: SESSION_SNAPSHOT_FORMAT, runtime: input.runtime, sessionId, savedAt: input.savedAt, droppedTurns, session });
  // sized with the largest droppedTurns this save can write (more digits never under-counts)
  const fixedBytes = Buffer.byteLength(head(input.droppedBefore + turnsBefore)) + SNAPSHOT_TAIL.length;

  let target = maxRawBytes;
  for (let round = 0; round < MAX_SIZE_ROUNDS; round += 1) {
    const cut = dropForSize(kept, messageBytes, fixedBytes, target);
    const turns = countTurns(kept.slice(cut));
    const droppedTurns = input.droppedBefore + turnsBefore - turns;
    const raw = Buffer.from(`${head(droppedTurns)}${messageJson.slice(cut).join(',')}${SNAPSHOT_TAIL}`, 'utf8');
    if (raw.length > maxRawBytes) {
      throw new GastownError('payload_too_large', `the session's last turn alone is ${raw.length} bytes of JSON, over the ${maxRawBytes}-byte snapshot limit`);
    }
    const bytes = await gzipAsync(raw);
    if (bytes.length <= maxBytes) {
      const meta = SessionSnapshotMetaSchema.safeParse({
        format: SESSION_SNAPSHOT_FORMAT,
        runtime: input.runtime,
        sessionId,
        savedAt: input.savedAt,
        reason: input.reason,
        turns,
        messages: kept.length - cut,
        rawBytes: raw.length,
        droppedTurns,
      });
      if (!meta.success) throw new GastownError('validation_failed', `the snapshot's meta is invalid at ${describeIssue(meta.error)}`);
      return { bytes, sha256: sha256Hex(bytes), meta: meta.data };
    }
    if (cut === lastTurnStart(kept)) break; // only the last turn is left
    target = Math.floor(((raw.length * maxBytes) / bytes.length) * SIZE_ROUND_MARGIN);
  }
  throw new GastownError('payload_too_large', `the session does not compress under the ${maxBytes}-byte snapshot limit even with only its last turns kept`);
}

function corrupt(what: string, cause?: unknown): GastownError {
  return new GastownError('snapshot_corrupt', `session snapshot refused: ${what}`, cause === undefined ? undefined : { cause });
}

/** Verify and decode; every failure is GastownError('snapshot_corrupt', <what failed, no content>). */
export async function decodeSnapshot(bytes: Uint8Array, sha256: string, expect: DecodeExpectation): Promise<SessionSnapshot> {
  const maxBytes = expect.maxBytes ?? SESSION_SNAPSHOT_LIMITS.maxBytes;
  const maxRawBytes = expect.maxRawBytes ?? SESSION_SNAPSHOT_LIMITS.maxRawBytes;
  if (bytes.byteLength > maxBytes) throw corrupt(`${bytes.byteLength} bytes, over the ${maxBytes}-byte limit`);
  if (sha256Hex(bytes) !== sha256.toLowerCase()) throw corrupt('the SHA-256 of its bytes does not match the stored checksum');

  let raw: Buffer;
  try {
    raw = await gunzipAsync(bytes, { maxOutputLength: maxRawBytes });
  } catch (error) {
    const tooLarge = (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
    throw corrupt(tooLarge ? `it inflates past the ${maxRawBytes}-byte limit` : 'not valid gzip', error);
  }

  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    // no cause: a JSON SyntaxError quotes the text it stopped at
    throw corrupt('the inflated content is not JSON');
  }
  const fields = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  if (fields.format !== SESSION_SNAPSHOT_FORMAT) throw corrupt(`its format is not ${SESSION_SNAPSHOT_FORMAT}`);
  if (fields.runtime !== expect.runtime) {
    const saved = RuntimeKindSchema.safeParse(fields.runtime);
    throw corrupt(`saved by ${saved.success ? saved.data : 'an unknown runtime'}, this agent runs ${expect.runtime}`);
  }
  const head = SnapshotHeadSchema.safeParse(value);
  if (!head.success) throw corrupt(`schema check failed at ${describeIssue(head.error)}`);
  const checked = await checkMessages(head.data.messages);
  if (!checked.ok) throw corrupt(`schema check failed at ${checked.issue}`);
  return { ...head.data, messages: checked.messages };
}

/** The runtime's import file content: `{info: snapshot.session, messages: snapshot.messages}` (the `opencode import` format). */
export function toImportFile(snapshot: SessionSnapshot): string {
  return JSON.stringify({ info: snapshot.session, messages: snapshot.messages });
}
