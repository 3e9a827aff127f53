import { createHash } from 'node:crypto';

/** `https://user:secret@host/x` → `https://user:***@host/x`: a git URL may embed a credential. */
export function redactUrlCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

/** First 8 hex of the SHA-256: lets a human compare two secrets without seeing either. */
export function fingerprint(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8);
}

/** How `config show` prints a secret: `**** (fingerprint 1a2b3c4d)`. */
export function maskSecret(value: string | null): string {
  return value === null ? '(not set)' : `**** (fingerprint ${fingerprint(value)})`;
}
