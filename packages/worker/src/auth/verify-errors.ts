/**
 * Map whatever jose (or our key resolver) throws during verification to one stable
 * CredentialError code. Decisions are made on jose's `code` property, never on message text.
 * Messages name the token kind and, at most, a claim name: never a token or a claim value.
 */
import { CredentialError, GastownError, type ErrorCode } from '@gastown/protocol';

export type TokenKind = 'access token' | 'user token';

type JoseLike = { code: string; claim?: unknown; reason?: unknown };

function isJoseError(error: unknown): error is Error & JoseLike {
  if (!(error instanceof Error)) return false;
  const code: unknown = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_J');
}

/** jose error code → our code. Anything jose reports that is not listed is a malformed token. */
const JOSE_CODE_MAP: Readonly<Record<string, ErrorCode>> = {
  ERR_JWT_EXPIRED: 'token_expired', // exp beyond tolerance, or iat older than maxTokenAge
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'token_bad_signature',
  ERR_JOSE_ALG_NOT_ALLOWED: 'token_malformed', // alg none, HS512, RS256, …
  ERR_JOSE_NOT_SUPPORTED: 'token_malformed',
  ERR_JWS_INVALID: 'token_malformed', // not 3 segments, bad base64, header not JSON
  ERR_JWT_INVALID: 'token_malformed', // payload not a JSON object
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'token_malformed', // missing claim, wrong iss/aud/typ, iat in the future
};

export function credentialErrorFrom(error: unknown, kind: TokenKind): GastownError {
  // Our own errors (unknown kid from the key resolver, internal key import failure) pass through.
  if (error instanceof GastownError) return error;
  if (isJoseError(error)) {
    const code = JOSE_CODE_MAP[error.code] ?? 'token_malformed';
    return new CredentialError(code, messageFor(code, kind, error), { cause: error });
  }
  // jose throws only its own errors for bad input; anything else is a bug on our side.
  return new GastownError('internal', `${kind} verification failed unexpectedly`, { cause: error });
}

function messageFor(code: ErrorCode, kind: TokenKind, error: JoseLike): string {
  const claim = typeof error.claim === 'string' && /^[a-z]{1,16}$/i.test(error.claim) ? error.claim : null;
  switch (code) {
    case 'token_expired':
      return claim === 'iat' ? `${kind} is older than the maximum token age` : `${kind} has expired`;
    case 'token_bad_signature':
      return `${kind} signature does not verify`;
    default:
      if (error.code === 'ERR_JOSE_ALG_NOT_ALLOWED') return `${kind} uses an algorithm other than HS256`;
      if (claim) return `${kind} claim "${claim}" is missing or invalid`;
      return `${kind} is malformed`;
  }
}
