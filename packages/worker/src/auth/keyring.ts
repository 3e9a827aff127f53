/**
 * The HMAC signing keyring. Secrets live in private fields (never enumerable, never
 * serialised); imported CryptoKeys are cached per keyring instance, so a new config
 * (a redeploy with another ring) never sees keys of the old one.
 */
import { CredentialError, GastownError } from '@gastown/protocol';
import { base64url } from 'jose';
import type { Keyring } from './contract';

/** What a kid may look like: safe in a JWT header, a log line and a JSON key. */
export const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** HS256 wants at least 256 bits of key; we ask for 32 characters. */
export const MIN_SECRET_CHARS = 32;
/** Length of an HMAC-SHA256 MAC (an HS256 signature). */
export const HMAC_SHA256_BYTES = 32;

const encoder = new TextEncoder();

/**
 * The base64url protected header of an HS256 token signed with `kid`: what jose's SignJWT writes for
 * `setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' })` (jwt.ts signHs256; kids are ASCII by KID_PATTERN).
 */
export function encodedJwtHeader(kid: string): string {
  return base64url.encode(JSON.stringify({ alg: 'HS256', kid, typ: 'JWT' }));
}

export class HmacKeyring implements Keyring {
  readonly activeKid: string;
  readonly kids: readonly string[];
  readonly #secrets: ReadonlyMap<string, Uint8Array<ArrayBuffer>>;
  readonly #cryptoKeys = new Map<string, Promise<CryptoKey>>();
  /** The encoded protected header signHs256 writes for each kid → that kid (hs256-fast-path.ts). */
  readonly #mintedHeaders: ReadonlyMap<string, string>;

  /** Callers validate input first (config.ts names the env variable); this only asserts invariants. */
  constructor(secrets: Readonly<Record<string, string>>, activeKid: string) {
    const entries = Object.entries(secrets);
    if (entries.length === 0) throw new GastownError('config_invalid', 'keyring: no keys');
    entries.forEach(([kid, secret], index) => {
      if (!KID_PATTERN.test(kid)) throw new GastownError('config_invalid', `keyring: kid #${index + 1} has an invalid format`);
      if (secret.length < MIN_SECRET_CHARS)
        throw new GastownError('config_invalid', `keyring: secret #${index + 1} is shorter than ${MIN_SECRET_CHARS} characters`);
    });
    if (!Object.hasOwn(secrets, activeKid)) throw new GastownError('config_invalid', 'keyring: the active kid is not in the ring');
    this.activeKid = activeKid;
    this.kids = Object.freeze(entries.map(([kid]) => kid));
    this.#secrets = new Map(entries.map(([kid, secret]) => [kid, new Uint8Array(encoder.encode(secret))]));
    this.#mintedHeaders = new Map(this.kids.map((kid) => [encodedJwtHeader(kid), kid]));
  }

  /**
   * The kid of `encodedHeader` if it is, byte for byte, the header we sign with one of this ring's
   * keys (`{"alg":"HS256","kid":…,"typ":"JWT"}`, base64url); null for any other header.
   */
  kidOfMintedHeader(encodedHeader: string): string | null {
    return this.#mintedHeaders.get(encodedHeader) ?? null;
  }

  has(kid: string): boolean {
    return this.#secrets.has(kid);
  }

  /**
   * True when this ring still holds `kid` with the secret `other` holds under it: what a token
   * verified with `other`'s key needs to stay trusted here. False once the kid is removed or
   * its secret replaced (verified-token-cache.ts).
   */
  sharesKey(kid: string, other: HmacKeyring): boolean {
    const mine = this.#secrets.get(kid);
    if (mine === undefined) return false;
    if (other === this) return true;
    const theirs = other.#secrets.get(kid);
    if (theirs === undefined || theirs.length !== mine.length) return false;
    let diff = 0;
    for (let i = 0; i < mine.length; i++) diff |= (mine[i] ?? 0) ^ (theirs[i] ?? 0);
    return diff === 0;
  }

  /**
   * Is `mac` the HMAC-SHA256 of `data` under `kid`'s secret? WebCrypto's verify (constant time);
   * false for a kid not in the ring or a MAC of another length. What jose calls underneath, without
   * jose's JWS machinery around it (hs256-fast-path.ts).
   */
  async macMatches(kid: string, data: BufferSource, mac: Uint8Array<ArrayBuffer>): Promise<boolean> {
    if (!this.#secrets.has(kid) || mac.length !== HMAC_SHA256_BYTES) return false;
    return crypto.subtle.verify('HMAC', await this.cryptoKey(kid), mac, data);
  }

  /** The HMAC-SHA256 key of `kid` (sign + verify). Unknown kid → token_unknown_key. */
  cryptoKey(kid: string): Promise<CryptoKey> {
    const cached = this.#cryptoKeys.get(kid);
    if (cached) return cached;
    const secret = this.#secrets.get(kid);
    if (!secret) return Promise.reject(new CredentialError('token_unknown_key', 'token was signed with a key that is not in the keyring'));
    const imported = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']).catch((cause: unknown) => {
      this.#cryptoKeys.delete(kid);
      throw new GastownError('internal', 'keyring: could not import an HMAC key', { cause });
    });
    this.#cryptoKeys.set(kid, imported);
    return imported;
  }

  /** Never the secrets. */
  toJSON(): { activeKid: string; kids: readonly string[] } {
    return { activeKid: this.activeKid, kids: this.kids };
  }
}

/** Build a keyring directly (tests, benches). Production code gets one from loadAuthConfig. */
export function createKeyring(secrets: Readonly<Record<string, string>>, activeKid: string): HmacKeyring {
  return new HmacKeyring(secrets, activeKid);
}

/** The contract exposes `Keyring` without secrets; the auth functions need the real one. */
export function hmacKeyringOf(keyring: Keyring): HmacKeyring {
  if (keyring instanceof HmacKeyring) return keyring;
  throw new GastownError('internal', 'keyring was not created by loadAuthConfig/createKeyring');
}
