/**
 * Pure byte matching: exact secrets (UTF-8 and UTF-16LE) and credential shapes, over one buffer
 * or over a file read chunk by chunk (with an overlap, so nothing straddling a chunk boundary is
 * missed and nothing is counted twice).
 */
import { GastownError } from '@gastown/protocol';
import { fingerprint } from './patterns';
import type { NamedPattern } from './types';

/** Shorter values would match by accident. */
export const MIN_SECRET_CHARS = 8;
/** Longest credential shape a chunk boundary is guaranteed not to split. */
const PATTERN_OVERLAP_BYTES = 16 * 1024;

export interface Match {
  kind: string;
  fingerprint: string;
  /** Offset in the scanned stream (absolute, across chunks). */
  offset: number;
  /** Length of the match in bytes. */
  length: number;
  encoding?: 'utf8' | 'utf16le';
}

interface Needle {
  fingerprint: string;
  encoding: 'utf8' | 'utf16le';
  bytes: Buffer;
}

export class Matcher {
  readonly overlapBytes: number;
  private readonly needles: Needle[];

  constructor(
    secrets: readonly string[],
    private readonly patterns: readonly NamedPattern[],
  ) {
    const unique = [...new Set(secrets)];
    unique.forEach((secret, i) => {
      if (typeof secret !== 'string' || secret.length < MIN_SECRET_CHARS) {
        // the index, never the value
        throw new GastownError('validation_failed', `secret #${i + 1} is shorter than ${MIN_SECRET_CHARS} characters`);
      }
    });
    this.needles = unique.flatMap((secret) => {
      const fp = fingerprint(secret);
      return [
        { fingerprint: fp, encoding: 'utf8' as const, bytes: Buffer.from(secret, 'utf8') },
        { fingerprint: fp, encoding: 'utf16le' as const, bytes: Buffer.from(secret, 'utf16le') },
      ];
    });
    const longest = Math.max(0, ...this.needles.map((n) => n.bytes.length));
    this.overlapBytes = Math.max(longest, PATTERN_OVERLAP_BYTES);
  }

  /**
   * Matches in `bytes`, whose first byte is at `base` in the stream. Matches that end within the
   * first `seenBytes` bytes were reported with the previous chunk; unless `final`, a shape match
   * touching the end may be cut short and is left for the next chunk.
   */
  match(bytes: Buffer, base = 0, seenBytes = 0, final = true): Match[] {
    const out: Match[] = [];
    for (const needle of this.needles) {
      for (let at = bytes.indexOf(needle.bytes); at !== -1; at = bytes.indexOf(needle.bytes, at + 1)) {
        if (at + needle.bytes.length <= seenBytes) continue;
        out.push({ kind: 'secret', fingerprint: needle.fingerprint, offset: base + at, length: needle.bytes.length, encoding: needle.encoding });
      }
    }
    if (this.patterns.length > 0) {
      const text = bytes.toString('latin1');
      for (const { name, pattern } of this.patterns) {
        pattern.lastIndex = 0;
        for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
          if (m[0].length === 0) {
            pattern.lastIndex += 1;
            continue;
          }
          const end = m.index + m[0].length;
          if (end <= seenBytes || (!final && end === bytes.length)) continue;
          out.push({ kind: name, fingerprint: fingerprint(Buffer.from(m[0], 'latin1')), offset: base + m.index, length: m[0].length });
        }
      }
    }
    return out;
  }

  /** Matches in a string (an env entry, an argument, a config line, a file name). */
  matchText(text: string): Match[] {
    return this.match(Buffer.from(text, 'utf8'));
  }

  /** `text` with every secret or credential shape in it replaced by `<fingerprint>` (for labels such as file names). */
  redact(text: string): string {
    const bytes = Buffer.from(text, 'utf8');
    const matches = this.match(bytes).sort((a, b) => a.offset - b.offset);
    if (matches.length === 0) return text;
    const parts: string[] = [];
    let at = 0;
    for (const m of matches) {
      if (m.offset < at) continue;
      parts.push(bytes.subarray(at, m.offset).toString('utf8'), `<${m.fingerprint}>`);
      at = m.offset + m.length;
    }
    parts.push(bytes.subarray(at).toString('utf8'));
    return parts.join('');
  }
}
