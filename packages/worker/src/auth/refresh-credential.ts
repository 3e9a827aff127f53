/**
 * Opaque refresh credentials: `gtr_` + base64url(32 bytes). Only their SHA-256 is stored.
 * A rotated credential's successor is derived, not stored: HMAC-SHA256(key, domain ‖ presented),
 * so a replay within the grace window can return the same pair without keeping any secret.
 */
import { GastownError, REFRESH_CREDENTIAL_PREFIX } from '@gastown/protocol';
import { base64url } from 'jose';
import type { RandomBytes } from './agent-token';

export const REFRESH_CREDENTIAL_BYTES = 32;
/** Domain separation between successor derivation and JWT signing with the same key. */
export const SUCCESSOR_DOMAIN = 'gastown-refresh-successor\0';

const SHAPE = new RegExp(`^${REFRESH_CREDENTIAL_PREFIX}[A-Za-z0-9_-]{43}$`);
const encoder = new TextEncoder();

export function generateRefreshCredential(randomBytes: RandomBytes): string {
  const bytes = randomBytes(REFRESH_CREDENTIAL_BYTES);
  if (bytes.length !== REFRESH_CREDENTIAL_BYTES) throw new GastownError('internal', 'randomBytes returned the wrong length');
  return REFRESH_CREDENTIAL_PREFIX + base64url.encode(bytes);
}

/** Cheap shape check before any lookup. */
export function isRefreshCredentialShape(value: unknown): value is string {
  return typeof value === 'string' && SHAPE.test(value);
}

/** Lower-case hex SHA-256 of the credential: the only form that is stored. */
export async function hashRefreshCredential(credential: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(credential));
  return toHex(new Uint8Array(digest));
}

/** The successor of `presented`, derived with the HMAC key that was active when it was used. */
export async function deriveSuccessorCredential(key: CryptoKey, presented: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(SUCCESSOR_DOMAIN + presented));
  return REFRESH_CREDENTIAL_PREFIX + base64url.encode(new Uint8Array(mac));
}

/** Loggable fingerprint of a stored hash: its first 8 hex characters. */
export function credentialFingerprint(hashHex: string): string {
  return hashHex.slice(0, 8);
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}
