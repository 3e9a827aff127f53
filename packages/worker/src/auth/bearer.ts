/** Extract the credential from an `Authorization: Bearer <token>` header value. */
import { CredentialError } from '@gastown/protocol';

/** RFC 6750 b64token characters (JWTs and gtr_ refresh credentials both fit). */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_HEADER_CHARS = 8192;

export function bearerToken(header: string | null | undefined): string {
  const value = typeof header === 'string' ? header.trim() : '';
  if (value === '') throw new CredentialError('token_missing', 'Authorization header is missing');
  if (value.length > MAX_HEADER_CHARS) throw new CredentialError('token_malformed', 'Authorization header is too long');
  const match = /^(\S+)(?:\s+(.*))?$/s.exec(value);
  const scheme = match?.[1] ?? '';
  const token = (match?.[2] ?? '').trim();
  if (scheme.toLowerCase() !== 'bearer') throw new CredentialError('token_malformed', 'Authorization header must use the Bearer scheme');
  if (token === '') throw new CredentialError('token_missing', 'Authorization header has no bearer token');
  if (!B64TOKEN.test(token)) throw new CredentialError('token_malformed', 'bearer token has invalid characters');
  return token;
}
