import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  GastownError,
  SESSION_SNAPSHOT_FORMAT,
  SESSION_SNAPSHOT_LIMITS,
  SessionSnapshotMetaSchema,
  type SessionMessage,
  type SessionSnapshot,
} from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { redactString } from '../../src/log/redact';
import { countTurns, decodeSnapshot, encodeSnapshot, toImportFile, type EncodeInput, type SessionExport } from '../../src/session/snapshot-codec';
import { loadExport, syntheticConversation } from './fixtures/conversation';

const SAVED_AT = 1_796_600_000_000;
const identity = (value: string) => value;

function input(exported: SessionExport, overrides: Partial<EncodeInput> = {}): EncodeInput {
  return { runtime: 'opencode', export: exported, savedAt: SAVED_AT, reason: 'message', droppedBefore: 0, redact: identity, ...overrides };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const inflate = (bytes: Uint8Array) => JSON.parse(gunzipSync(bytes).toString('utf8')) as SessionSnapshot;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof GastownError ? error.code : `not a GastownError: ${String(error)}`;
  }
  return 'resolved';
}

async function refusal(promise: Promise<unknown>): Promise<GastownError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GastownError);
  return error as GastownError;
}

describe('encodeSnapshot / decodeSnapshot round trip', () => {
  it('decodes what it encoded, with the meta numbers of what it kept', async () => {
    const exported = syntheticConversation(10);
    const encoded = await encodeSnapshot(input(exported, { reason: 'waiting', droppedBefore: 3 }));
    expect(encoded.sha256).toBe(sha256(encoded.bytes));
    expect(SessionSnapshotMetaSchema.parse(encoded.meta)).toEqual(encoded.meta);
    const snapshot = await decodeSnapshot(encoded.bytes, encoded.sha256, { runtime: 'opencode' });
    expect(snapshot).toEqual({
      format: SESSION_SNAPSHOT_FORMAT,
      runtime: 'opencode',
      sessionId: exported.session.id,
      savedAt: SAVED_AT,
      droppedTurns: 3,
      session: exported.session,
      messages: exported.messages,
    });
    expect(encoded.meta).toEqual({
      format: SESSION_SNAPSHOT_FORMAT,
      runtime: 'opencode',
      sessionId: exported.session.id,
      savedAt: SAVED_AT,
      reason: 'waiting',
      turns: 10,
      messages: 30,
      rawBytes: gunzipSync(encoded.bytes).length,
      droppedTurns: 3,
    });
  });

  it('keeps only what the runtime still sends the model after its last compaction, and counts the rest', async () => {
    const exported = loadExport('opencode-compaction');
    const encoded = await encodeSnapshot(input(exported, { droppedBefore: 1 }));
    const snapshot = await decodeSnapshot(encoded.bytes, encoded.sha256, { runtime: 'opencode' });
    expect(snapshot.messages).toEqual(exported.messages.slice(10));
    expect(snapshot.messages[0]!.parts[0]!.type).toBe('compaction');
    expect(encoded.meta).toMatchObject({ turns: 2, messages: 4, droppedTurns: 1 + 4 });
    expect(snapshot.droppedTurns).toBe(5);
  });

  it('keeps the tail a compaction kept', async () => {
    const exported = loadExport('opencode-compaction-tail');
    const encoded = await encodeSnapshot(input(exported));
    expect(encoded.meta).toMatchObject({ turns: 4, messages: 8, droppedTurns: 2 });
  });

  it('toImportFile is the runtime export format', async () => {
    const exported = loadExport('opencode-compaction-tail');
    const encoded = await encodeSnapshot(input(exported));
    const snapshot = await decodeSnapshot(encoded.bytes, encoded.sha256, { runtime: 'opencode' });
    expect(JSON.parse(toImportFile(snapshot))).toEqual({ info: exported.session, messages: exported.messages.slice(5) });
  });

  it('countTurns counts user messages', () => {
    expect(countTurns(syntheticConversation(7).messages)).toBe(7);
    expect(countTurns(loadExport('opencode-compaction').messages)).toBe(6);
    expect(countTurns([])).toBe(0);
  });

  it('does not mutate the export', async () => {
    const exported = loadExport('opencode-compaction');
    const before = structuredClone(exported);
    await encodeSnapshot(input(exported, { redact: (s) => s.replace(/user/g, 'USER'), maxRawBytes: 3_000 }));
    expect(exported).toEqual(before);
  });

  it('lets the event loop run between slices of messages while it redacts', async () => {
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks += 1;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const ticksAtRedaction = new Set<number>();
    await encodeSnapshot(input(syntheticConversation(300), { redact: (s) => (ticksAtRedaction.add(ticks), s) }));
    running = false;
    // 900 messages in slices of 100: the redactor runs in 9 separate turns of the loop
    expect(ticksAtRedaction.size).toBeGreaterThanOrEqual(9);
  });

  it('refuses an export that is not a session', async () => {
    const broken = { session: { id: 'ses_1' }, messages: [{ info: { role: 'user' }, parts: [] }] } as unknown as SessionExport;
    expect(await codeOf(encodeSnapshot(input(broken)))).toBe('validation_failed');
  });
});

describe('redaction', () => {
  const SECRET = 'gastown-test-secret-4b1d7e02';

  it('redacts a planted secret deeper than 8 levels and in a key, in the session and the messages', async () => {
    const exported = syntheticConversation(3);
    const tool = exported.messages[1]!.parts.find((part) => part.type === 'tool') as unknown as { state: Record<string, unknown> };
    let deep: Record<string, unknown> = { leaf: `token=${SECRET}` };
    for (let level = 0; level < 12; level += 1) deep = { [`l${level}`]: deep };
    tool.state.metadata = { ...(tool.state.metadata as object), deep, [`${SECRET}-as-key`]: 'x' };
    exported.session.title = `about ${SECRET}`;
    const encoded = await encodeSnapshot(input(exported, { redact: (s) => redactString(s, [SECRET]) }));
    const raw = gunzipSync(encoded.bytes).toString('utf8');
    expect(raw).not.toContain(SECRET);
    expect(raw).toContain('"l11":{"l10":{"l9"');
    expect(raw.match(/\[redacted:[0-9a-f]{8}\]/g)?.length).toBe(3);
    const snapshot = await decodeSnapshot(encoded.bytes, encoded.sha256, { runtime: 'opencode' });
    expect(snapshot.session.title).toMatch(/^about \[redacted:/);
  });
});

describe('size policy', () => {
  /** Bytes each whole turn of `messages` adds to the JSON (its messages and their `,` separators). */
  function turnBytes(messages: SessionMessage[]): number[] {
    const sizes: number[] = [];
    for (const message of messages) {
      if (message.info.role === 'user') sizes.push(0);
      sizes[sizes.length - 1]! += Buffer.byteLength(JSON.stringify(message)) + 1;
    }
    return sizes;
  }

  it('drops the oldest whole turns until the raw JSON fits, and counts them', async () => {
    const exported = syntheticConversation(20);
    const full = await encodeSnapshot(input(exported));
    const sizes = turnBytes(exported.messages);
    // room for all but 3 turns and a half
    const maxRawBytes = full.meta.rawBytes - sizes[0]! - sizes[1]! - sizes[2]! - Math.floor(sizes[3]! / 2);
    const encoded = await encodeSnapshot(input(exported, { maxRawBytes, droppedBefore: 5 }));
    expect(encoded.meta).toMatchObject({ turns: 16, messages: 48, droppedTurns: 5 + 4 });
    expect(encoded.meta.rawBytes).toBeLessThanOrEqual(maxRawBytes);
    const snapshot = inflate(encoded.bytes);
    expect(snapshot.messages).toEqual(exported.messages.slice(12));
    expect(snapshot.droppedTurns).toBe(9);
    expect(Buffer.byteLength(JSON.stringify(snapshot))).toBe(encoded.meta.rawBytes);
  });

  it('never drops the last turn: a limit that fits only it keeps only it', async () => {
    const exported = syntheticConversation(20);
    const full = await encodeSnapshot(input(exported));
    const sizes = turnBytes(exported.messages);
    const maxRawBytes = full.meta.rawBytes - sizes.slice(0, 19).reduce((a, b) => a + b, 0) + 10;
    const encoded = await encodeSnapshot(input(exported, { maxRawBytes }));
    expect(encoded.meta).toMatchObject({ turns: 1, messages: 3, droppedTurns: 19 });
    expect(inflate(encoded.bytes).messages).toEqual(exported.messages.slice(57));
  });

  it('fails with payload_too_large when the last turn alone is over the limit', async () => {
    expect(await codeOf(encodeSnapshot(input(syntheticConversation(5), { maxRawBytes: 1_000 })))).toBe('payload_too_large');
  });

  it('drops more turns when incompressible content keeps the gzip over maxBytes', async () => {
    const exported = syntheticConversation(10);
    // ~4 KiB of base64 per text part: gzip cannot shrink it much
    const noise = (seed: string) => Array.from({ length: 48 }, (_, i) => createHash('sha512').update(`${seed}/${i}`).digest('base64')).join('');
    exported.messages.forEach((message, index) => {
      const text = message.parts.find((part) => part.type === 'text') as { text: string } | undefined;
      if (text) text.text = noise(String(index));
    });
    const full = await encodeSnapshot(input(exported));
    const maxBytes = Math.floor(full.bytes.length / 3);
    const encoded = await encodeSnapshot(input(exported, { maxBytes }));
    expect(encoded.bytes.length).toBeLessThanOrEqual(maxBytes);
    expect(encoded.meta.droppedTurns).toBeGreaterThanOrEqual(5);
    expect(encoded.meta.turns + encoded.meta.droppedTurns).toBe(10);
  });
});

describe('decodeSnapshot refuses every corrupt snapshot with snapshot_corrupt', () => {
  const MARKER = 'content-marker-that-must-not-leak';
  const rehash = (bytes: Uint8Array) => ({ bytes, sha: sha256(bytes) });
  const gz = (value: unknown) => rehash(gzipSync(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))));
  const valid = (): SessionSnapshot => ({
    format: SESSION_SNAPSHOT_FORMAT,
    runtime: 'opencode',
    sessionId: 'ses_1',
    savedAt: 1,
    droppedTurns: 0,
    session: { id: 'ses_1', title: MARKER },
    messages: [{ info: { id: 'msg_1', role: 'user' }, parts: [{ type: 'text', text: MARKER }] }],
  });

  const cases: Array<{ name: string; make: (good: { bytes: Uint8Array; sha: string }) => { bytes: Uint8Array; sha: string } }> = [
    {
      name: 'a flipped byte (stored checksum)',
      make: ({ bytes, sha }) => {
        const copy = Uint8Array.from(bytes);
        copy[Math.floor(copy.length / 2)]! ^= 0x01;
        return { bytes: copy, sha };
      },
    },
    {
      name: 'a flipped byte with a matching checksum (gzip CRC)',
      make: ({ bytes }) => {
        const copy = Uint8Array.from(bytes);
        copy[Math.floor(copy.length / 2)]! ^= 0x01;
        return rehash(copy);
      },
    },
    { name: 'truncated (stored checksum)', make: ({ bytes, sha }) => ({ bytes: bytes.subarray(0, bytes.length - 9), sha }) },
    { name: 'truncated with a matching checksum', make: ({ bytes }) => rehash(bytes.subarray(0, bytes.length - 9)) },
    { name: 'wrong checksum', make: ({ bytes }) => ({ bytes, sha: sha256(Buffer.from('something else')) }) },
    { name: 'a checksum that is not hex', make: ({ bytes }) => ({ bytes, sha: 'not-a-digest' }) },
    { name: 'not gzip', make: () => rehash(Buffer.from(JSON.stringify(valid()))) },
    { name: 'empty', make: () => rehash(new Uint8Array(0)) },
    { name: 'gzip of non-JSON', make: () => gz(`{"format": "${MARKER}`) },
    { name: 'gzip of a JSON array', make: () => gz([valid()]) },
    { name: 'wrong format string', make: () => gz({ ...valid(), format: `${MARKER}/1` }) },
    { name: 'an older or newer format', make: () => gz({ ...valid(), format: 'gastown.session/2' }) },
    { name: 'saved by another runtime', make: () => gz({ ...valid(), runtime: 'kilo' }) },
    { name: 'an unknown runtime', make: () => gz({ ...valid(), runtime: MARKER }) },
    { name: 'schema: a message without an id', make: () => gz({ ...valid(), messages: [{ info: { role: 'user' }, parts: [] }] }) },
    { name: 'schema: a part without a type', make: () => gz({ ...valid(), messages: [{ info: { id: 'm', role: 'user' }, parts: [{ text: MARKER }] }] }) },
    { name: 'schema: negative droppedTurns', make: () => gz({ ...valid(), droppedTurns: -1 }) },
    { name: 'schema: no session', make: () => gz({ ...valid(), session: undefined }) },
  ];

  it.each(cases)('$name', async ({ make }) => {
    const good = gz(valid());
    await expect(decodeSnapshot(good.bytes, good.sha, { runtime: 'opencode' })).resolves.toEqual(valid());
    const { bytes, sha } = make(good);
    const error = await refusal(decodeSnapshot(bytes, sha, { runtime: 'opencode' }));
    expect(error.code).toBe('snapshot_corrupt');
    expect(error.message).not.toContain(MARKER);
  });

  it('refuses a snapshot of another runtime than the one it expects', async () => {
    const encoded = await encodeSnapshot(input(syntheticConversation(2), { runtime: 'kilo' }));
    expect(await codeOf(decodeSnapshot(encoded.bytes, encoded.sha256, { runtime: 'opencode' }))).toBe('snapshot_corrupt');
    await expect(decodeSnapshot(encoded.bytes, encoded.sha256, { runtime: 'kilo' })).resolves.toMatchObject({ runtime: 'kilo' });
  });

  it('refuses bytes over the upload limit before reading them', async () => {
    const bytes = new Uint8Array(SESSION_SNAPSHOT_LIMITS.maxBytes + 1);
    expect(await codeOf(decodeSnapshot(bytes, sha256(bytes), { runtime: 'opencode' }))).toBe('snapshot_corrupt');
  });

  it('refuses a gzip bomb: a valid snapshot that inflates past maxRawBytes (48 MiB from 48 KiB)', async () => {
    const snapshot = valid();
    snapshot.messages[0]!.parts[0]!.text = 'a'.repeat(SESSION_SNAPSHOT_LIMITS.maxRawBytes);
    const { bytes, sha } = gz(snapshot);
    expect(bytes.length).toBeLessThan(SESSION_SNAPSHOT_LIMITS.maxBytes / 100);
    expect(await codeOf(decodeSnapshot(bytes, sha, { runtime: 'opencode' }))).toBe('snapshot_corrupt');
    // the same snapshot under a limit it fits is accepted: the refusal is the limit's
    await expect(decodeSnapshot(bytes, sha, { runtime: 'opencode', maxRawBytes: SESSION_SNAPSHOT_LIMITS.maxRawBytes + 1_024 })).resolves.toMatchObject({
      sessionId: 'ses_1',
    });
  });
});
