/**
 * The session snapshot codec on synthetic conversations in the real opencode 1.18.33 shape:
 * encode (redact + size policy + JSON + gzip + SHA-256) and decode (size + SHA-256 + bounded
 * gunzip + JSON + schema), timed in interleaved rounds, with the longest event-loop stall each
 * one caused (zlib runs in the thread pool; JSON and redaction run on the loop).
 */
import { randomBytes } from 'node:crypto';
import type { SessionSnapshot } from '@gastown/protocol';
import { redactString } from '@gastown/container/log/redact';
import { decodeSnapshot, encodeSnapshot, type EncodedSnapshot, type EncodeInput, type SessionExport } from '@gastown/container/session/index';

export interface CodecSample {
  turns: number;
  messages: number;
  /** Uncompressed JSON (meta.rawBytes) and gzip bytes. */
  rawBytes: number;
  gzipBytes: number;
  /** Per round, ms. */
  encodeMs: number[];
  /** Encode with an identity redactor: the rest of the encode without the redaction. */
  encodeNoRedactMs: number[];
  decodeMs: number[];
  /** Longest gap between event-loop turns during each encode / decode, ms. */
  encodeStallMs: number[];
  decodeStallMs: number[];
}

/**
 * Runs `work` while a timer chain measures the longest gap between event-loop turns: how long
 * the loop was held (a gap of ~1 ms is an idle loop).
 */
async function withStallMeter<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; stallMs: number }> {
  let last = performance.now();
  let longest = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  running = false;
  // the stretch from the last tick to the end of the work counts too
  longest = Math.max(longest, performance.now() - last);
  return { result, ms, stallMs: longest };
}

export interface CodecRun {
  samples: CodecSample[];
  /** The decoded snapshot per size (the import measurement writes its import file). */
  snapshots: Map<number, SessionSnapshot>;
}

/**
 * `conversations` maps a turn count to its export. Each round encodes and decodes every size
 * once (sizes in rotating order), after one warm-up round that is not counted.
 */
export async function measureCodec(conversations: Map<number, SessionExport>, rounds: number): Promise<CodecRun> {
  // what the container registers: the broker key and the server password of the run (values only)
  const secrets = [`gtb_${randomBytes(24).toString('base64url')}`, randomBytes(24).toString('base64url')];
  const redact = (value: string) => redactString(value, secrets);
  const identity = (value: string) => value;
  const sizes = [...conversations.keys()];
  const samples = new Map<number, CodecSample>();
  const snapshots = new Map<number, SessionSnapshot>();
  const input = (exported: SessionExport, redactor: EncodeInput['redact']): EncodeInput => ({
    runtime: 'opencode',
    export: exported,
    savedAt: Date.now(),
    reason: 'message',
    droppedBefore: 0,
    redact: redactor,
  });

  for (let round = -1; round < rounds; round += 1) {
    const order = sizes.map((_, i) => sizes[(i + Math.max(0, round)) % sizes.length]!);
    for (const turns of order) {
      const exported = conversations.get(turns)!;
      const encode = await withStallMeter(() => encodeSnapshot(input(exported, redact)));
      const plain = await withStallMeter(() => encodeSnapshot(input(exported, identity)));
      const encoded: EncodedSnapshot = encode.result;
      const decode = await withStallMeter(() => decodeSnapshot(encoded.bytes, encoded.sha256, { runtime: 'opencode' }));
      if (round < 0) {
        snapshots.set(turns, decode.result);
        samples.set(turns, {
          turns: encoded.meta.turns,
          messages: encoded.meta.messages,
          rawBytes: encoded.meta.rawBytes,
          gzipBytes: encoded.bytes.length,
          encodeMs: [],
          encodeNoRedactMs: [],
          decodeMs: [],
          encodeStallMs: [],
          decodeStallMs: [],
        });
        continue;
      }
      const sample = samples.get(turns)!;
      sample.encodeMs.push(encode.ms);
      sample.encodeNoRedactMs.push(plain.ms);
      sample.decodeMs.push(decode.ms);
      sample.encodeStallMs.push(encode.stallMs);
      sample.decodeStallMs.push(decode.stallMs);
    }
  }
  return { samples: sizes.map((turns) => samples.get(turns)!), snapshots };
}
