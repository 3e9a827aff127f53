import { createHash } from 'node:crypto';

/** First 8 hex of the SHA-256 of a secret: safe to log, enough to tell two secrets apart. */
export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 8);
}
