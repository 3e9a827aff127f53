/** Credential shapes, and fingerprints (what a report may show instead of a secret). */
import { createHash } from 'node:crypto';
import { REFRESH_CREDENTIAL_PREFIX } from '@gastown/protocol';
import type { NamedPattern } from './types';

/**
 * A signed JWT: base64url header and payload that both decode to a JSON object (`eyJ` = `{"`),
 * and a signature. Ordinary prose, hashes, ids and base64 data do not have this shape.
 */
export const JWT_PATTERN: NamedPattern = { name: 'jwt', pattern: /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/g };

/** An opaque refresh credential (`gtr_` + base64url). */
export const REFRESH_CREDENTIAL_PATTERN: NamedPattern = {
  name: 'refresh_credential',
  pattern: new RegExp(`(?<![A-Za-z0-9_-])${REFRESH_CREDENTIAL_PREFIX}[A-Za-z0-9_-]{20,}`, 'g'),
};

/** A per-agent broker key (`gtb_` + base64url). Not a default: the agent process legitimately holds its own. */
export const BROKER_KEY_PATTERN: NamedPattern = { name: 'broker_key', pattern: /(?<![A-Za-z0-9_-])gtb_[A-Za-z0-9_-]{20,}/g };

export const DEFAULT_PATTERNS: readonly NamedPattern[] = [JWT_PATTERN, REFRESH_CREDENTIAL_PATTERN];

export const NAMED_PATTERNS: Readonly<Record<string, NamedPattern>> = {
  jwt: JWT_PATTERN,
  refresh_credential: REFRESH_CREDENTIAL_PATTERN,
  broker_key: BROKER_KEY_PATTERN,
};

/** Named, global copies of the caller's patterns (a RegExp without a name becomes `pattern_<i>`). */
export function normalizePatterns(patterns: ReadonlyArray<RegExp | NamedPattern>): NamedPattern[] {
  return patterns.map((p, i) => {
    const named = p instanceof RegExp ? { name: `pattern_${i}`, pattern: p } : p;
    const flags = named.pattern.flags.includes('g') ? named.pattern.flags : `${named.pattern.flags}g`;
    return { name: named.name, pattern: new RegExp(named.pattern.source, flags) };
  });
}

/** First 8 hex of the SHA-256 of `value`. */
export function fingerprint(value: string | Uint8Array): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8);
}
