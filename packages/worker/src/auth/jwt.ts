/**
 * HS256 sign and verify over a keyring: the one place that calls jose. Agent and user
 * tokens differ only in audience, claims schema and age policy (agent-token.ts, user-token.ts).
 * Verification tries the fast path for tokens of the minted shape first (hs256-fast-path.ts);
 * it only accepts, so every refusal is jose's.
 */
import { CredentialError, TOKEN_ISSUER } from '@gastown/protocol';
import { jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { verifyMintedHs256 } from './hs256-fast-path';
import type { HmacKeyring } from './keyring';
import { credentialErrorFrom, type TokenKind } from './verify-errors';

export const JWT_ALGORITHM = 'HS256';
/** Longest token we will parse; anything longer is malformed before jose sees it. */
export const MAX_TOKEN_CHARS = 4096;

/** Sign `claims` (key order is kept: same claims + same key → the same token, HS256 is deterministic). */
export async function signHs256(keyring: HmacKeyring, kid: string, claims: JWTPayload): Promise<string> {
  const key = await keyring.cryptoKey(kid);
  return new SignJWT(claims).setProtectedHeader({ alg: JWT_ALGORITHM, kid, typ: 'JWT' }).sign(key);
}

export interface VerifyHs256Options {
  kind: TokenKind;
  audience: string;
  requiredClaims: readonly string[];
  clockToleranceSeconds: number;
  /** Passed to jose, which adds clockTolerance itself: the accepted age is maxTokenAgeSeconds + tolerance. */
  maxTokenAgeSeconds: number;
  now: number;
}

/** A verified token: its payload and the kid of the key that verified it. */
export interface VerifiedJwt {
  payload: JWTPayload;
  kid: string;
}

/** Verify signature, alg, typ, iss, aud, required claims, exp and age. Throws CredentialError. */
export async function verifyHs256(keyring: HmacKeyring, token: string, options: VerifyHs256Options): Promise<VerifiedJwt> {
  if (typeof token !== 'string' || token.length === 0) throw new CredentialError('token_missing', `no ${options.kind} presented`);
  if (token.length > MAX_TOKEN_CHARS) throw new CredentialError('token_malformed', `${options.kind} is too long`);
  // a token of the shape we mint that passes every check; anything else (every refusal) is jose's to judge
  const minted = await verifyMintedHs256(keyring, token, options);
  if (minted !== null) return minted;
  return verifyHs256WithJose(keyring, token, options);
}

/** The full check by jose alone: the judge of every token the fast path does not accept (and the reference its tests compare with). */
export async function verifyHs256WithJose(keyring: HmacKeyring, token: string, options: VerifyHs256Options): Promise<VerifiedJwt> {
  let kid = '';
  const resolveKey = (header: JWTHeaderParameters): Promise<CryptoKey> => {
    if (typeof header.kid !== 'string' || header.kid.length === 0) {
      throw new CredentialError('token_malformed', `${options.kind} header has no "kid"`);
    }
    kid = header.kid;
    return keyring.cryptoKey(kid);
  };
  try {
    const { payload } = await jwtVerify(token, resolveKey, {
      algorithms: [JWT_ALGORITHM],
      typ: 'JWT',
      issuer: TOKEN_ISSUER,
      audience: options.audience,
      requiredClaims: [...options.requiredClaims],
      clockTolerance: options.clockToleranceSeconds,
      maxTokenAge: options.maxTokenAgeSeconds,
      currentDate: new Date(options.now),
    });
    return { payload, kid };
  } catch (error) {
    throw credentialErrorFrom(error, options.kind);
  }
}
