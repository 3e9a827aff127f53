/**
 * The fast path of HS256 verification, for tokens of exactly the shape we mint: the very header
 * signHs256 writes for a kid of the ring (`{"alg":"HS256","kid":…,"typ":"JWT"}`, compared as its
 * base64url encoding), an ASCII JSON-object payload with every required claim, `iss` and `aud` as
 * strings, numeric `iat` and `exp`, no `nbf`.
 *
 * It can only ACCEPT. On anything else — another header, a claim missing or of another type, a
 * time check failing, a kid not in the ring, a signature that does not match, bytes that do not
 * decode — it returns null and jose decides (jwt.ts `verifyHs256`), so every refusal and its error
 * code are jose's, unchanged. What it accepts, jose accepts with the same payload: each check
 * below is jose 6's own check (lib/jws_verify.js, lib/jwt_claims_set.js) or stricter, and
 * test/auth/hs256-fast-path.test.ts runs both on the same tokens (minted, re-headed, re-claimed,
 * re-timed, every one-character change) and fails if the fast path accepts what jose refuses —
 * each check removed in turn makes it fail.
 *
 * Why: jose's generic JWS machinery around the HMAC (header parameter rules, key resolution,
 * Uint8Array copies) cost 4–5× a bare HMAC per new token in workerd (docs/PERFORMANCE.md §1b).
 * This is a split, a Map look-up of the header, two native base64 decodes, one JSON parse and one
 * WebCrypto verify.
 */
import { TOKEN_ISSUER } from '@gastown/protocol';
import type { VerifiedJwt, VerifyHs256Options } from './jwt';
import { HMAC_SHA256_BYTES, type HmacKeyring } from './keyring';
import { withinTokenTimes } from './token-times';

/** base64url without padding or whitespace: the only segments the fast path reads. */
const SEGMENT = /^[A-Za-z0-9_-]+$/;
/** 32 bytes in unpadded base64url. */
const SIGNATURE_CHARS = Math.ceil((HMAC_SHA256_BYTES * 4) / 3);
/** Any byte outside ASCII: the fast path leaves UTF-8 decoding (and its BOM rule) to jose. */
const NON_ASCII = /[^\x00-\x7f]/;
const encoder = new TextEncoder();

type JsonObject = Record<string, unknown>;

/** A segment's bytes as a binary string (one char per byte), or null where jose's decoder would refuse it. */
function decodeSegment(segment: string): string | null {
  // a length of 4n + 1 is not base64 (jose and atob refuse it)
  if (!SEGMENT.test(segment) || segment.length % 4 === 1) return null;
  try {
    return atob(segment.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return null;
  }
}

/** A segment's JSON object if it is ASCII JSON for an object; else null (jose decides). */
function jsonObjectOf(segment: string): JsonObject | null {
  const text = decodeSegment(segment);
  if (text === null || NON_ASCII.test(text)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : null;
}

/** jose's claim checks with our options, or stricter (no `nbf`, `aud` only as a string). */
function claimsAccepted(payload: JsonObject, options: VerifyHs256Options): boolean {
  for (const claim of options.requiredClaims) if (!Object.hasOwn(payload, claim)) return false;
  const { iss, aud, iat, exp } = payload;
  if (iss !== TOKEN_ISSUER || aud !== options.audience) return false;
  if (typeof iat !== 'number' || typeof exp !== 'number' || Object.hasOwn(payload, 'nbf')) return false;
  return withinTokenTimes(
    { iat, exp, nbf: null },
    { clockToleranceSeconds: options.clockToleranceSeconds, maxTokenAgeSeconds: options.maxTokenAgeSeconds },
    options.now,
  );
}

function bytesOf(binary: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The verified payload and kid of a token of the minted shape, or null: jose must decide. */
export async function verifyMintedHs256(keyring: HmacKeyring, token: string, options: VerifyHs256Options): Promise<VerifiedJwt | null> {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  if (encodedSignature.length !== SIGNATURE_CHARS) return null;
  const signature = decodeSegment(encodedSignature);
  if (signature === null) return null;
  // the exact header we sign with a key of this ring (no parsing: a Map look-up of its encoding)
  const kid = keyring.kidOfMintedHeader(encodedHeader);
  if (kid === null) return null;
  const payload = jsonObjectOf(encodedPayload);
  if (payload === null || !claimsAccepted(payload, options)) return null;
  const signingInput = encoder.encode(`${encodedHeader}.${encodedPayload}`);
  if (!(await keyring.macMatches(kid, signingInput, bytesOf(signature)))) return null;
  return { payload, kid };
}
