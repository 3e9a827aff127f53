/** Credential handling of incoming requests: which key was presented, and headers safe to record. */
import type { IncomingMessage } from 'node:http';
import { fingerprint } from './conversation';
import type { ModelWireFormat } from './types';

/** Headers whose values are secrets: recorded only as fingerprints. */
const SECRET_HEADERS = new Set(['authorization', 'x-api-key']);

const headerValue = (req: IncomingMessage, name: string): string | null => {
  const value = req.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
};

/** The header that carries the credential on a wire. */
export function credentialHeader(wire: ModelWireFormat): 'authorization' | 'x-api-key' {
  return wire === 'anthropic-messages' ? 'x-api-key' : 'authorization';
}

/** The key presented the way the wire expects (`Authorization: Bearer <key>` / `x-api-key: <key>`), or null. */
export function presentedKey(req: IncomingMessage, wire: ModelWireFormat): string | null {
  const value = headerValue(req, credentialHeader(wire));
  if (value === null) return null;
  if (wire === 'anthropic-messages') return value;
  return value.startsWith('Bearer ') ? value.slice('Bearer '.length) : null;
}

export interface RecordedHeaders {
  headers: Record<string, string>;
  authFingerprint: string | null;
  keyFingerprint: string | null;
}

/** Lower-cased headers with `authorization` and `x-api-key` replaced by fingerprints; never a secret value. */
export function recordedHeaders(req: IncomingMessage, wire: ModelWireFormat): RecordedHeaders {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(req.headers)) {
    const text = headerValue(req, name) ?? '';
    headers[name] = SECRET_HEADERS.has(name) ? fingerprint(text) : text;
  }
  const credential = headerValue(req, credentialHeader(wire));
  const key = presentedKey(req, wire);
  return {
    headers,
    authFingerprint: credential === null ? null : fingerprint(credential),
    keyFingerprint: key === null ? null : fingerprint(key),
  };
}
