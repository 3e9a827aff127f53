/**
 * A bounded cache of verified agent access tokens: an agent sends the same token on every
 * request until its broker refreshes it, and without this each request paid the full check
 * (jose + zod) again — several times a bare HMAC verify (docs/PERFORMANCE.md).
 *
 * - Keyed by the token's SHA-256, never by the token itself (no secret in the map's keys).
 * - Holds successes only: a token that fails verification is never stored.
 * - An entry serves a request only while the verifier itself would accept the token at that
 *   instant — the same exp / max-age / iat / nbf rules with the same clock tolerance, from the
 *   policy of the config presented ({@link acceptedAt}) — and only while that config's keyring
 *   still holds the key that verified it, with the same secret (a removed or replaced key stops
 *   its cached tokens at once). Otherwise the token is verified in full again.
 * - Bounded: at most `maxEntries`, evicted by CLOCK (second chance: an entry used since the hand
 *   last passed it is kept another round); a hit is a Map look-up and a flag, an insert amortised
 *   O(1) (the hand clears at most one flag per hit).
 * - Revocation does not go through here and is not weakened by it: the TownDO checks the token's
 *   generation on every request (town/agent-authorization.ts `assertTokenCurrent`), on the claims
 *   this returns.
 *
 * One instance per isolate, created with the app (http/app.ts); no module state.
 */
import { GastownError, type AgentClaims, type Clock } from '@gastown/protocol';
import { maxAgentTokenAgeSeconds, verifyAgentAccessTokenDetailed } from './agent-token';
import type { AuthConfig, TokenPolicy } from './contract';
import { MAX_TOKEN_CHARS } from './jwt';
import { hmacKeyringOf, type HmacKeyring } from './keyring';
import { withinTokenTimes, type TokenTimes } from './token-times';

export type { TokenTimes } from './token-times';

export const DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES = 10_000;

export interface VerifiedTokenCacheOptions {
  clock: Clock;
  /** Most entries held at once (default 10,000); past it, one not used lately is evicted. */
  maxEntries?: number;
}

/**
 * Would verifyAgentAccessToken's time checks pass at `nowMs`? jose's rules (token-times.ts) with
 * the agent token policy: its tolerance and max age.
 */
export function acceptedAt(times: TokenTimes, policy: TokenPolicy, nowMs: number): boolean {
  return withinTokenTimes(times, { clockToleranceSeconds: policy.clockToleranceSeconds, maxTokenAgeSeconds: maxAgentTokenAgeSeconds(policy) }, nowMs);
}

interface Entry {
  /** The token's SHA-256 (tokenKey): its key in the map. */
  key: string;
  claims: Readonly<AgentClaims>;
  /** The ring and kid that verified it: the entry serves only while the presented ring shares that key. */
  keyring: HmacKeyring;
  kid: string;
  times: TokenTimes;
  /** Its place on the clock's ring. */
  slot: number;
  /** Set by a hit, cleared by the clock hand passing: a second chance before eviction. */
  referenced: boolean;
}

export interface VerifiedTokenCacheStats {
  size: number;
  hits: number;
  misses: number;
}

const encoder = new TextEncoder();

/**
 * The map key of a token: its SHA-256, the 32 bytes read as 16 UTF-16 code units. A flat 16-char
 * string takes ~90 bytes in V8; a 64-char hex string built by concatenation held ~900 (measured).
 * WebCrypto, not `node:crypto`: in workerd its digest is native and twice as fast (2.1 against
 * 4.0 µs, docs/DEVELOPMENT.md).
 */
async function tokenKey(token: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(token));
  return String.fromCharCode(...new Uint16Array(digest));
}

export class VerifiedTokenCache {
  readonly maxEntries: number;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  /**
   * CLOCK eviction (second chance), not a Map kept in recency order: a hit only sets a flag. Moving
   * a hit to the end of a Map (delete + set of the same key) leaves a deleted copy in that key's
   * hash chain each time, so one hot token made every look-up walk thousands of them (V8: ~50 µs per
   * hit at 10,000 entries, measured) until the next rehash. Slots of removed entries are null.
   */
  readonly #ring: (Entry | null)[] = [];
  #hand = 0;
  #hits = 0;
  #misses = 0;

  constructor(options: VerifiedTokenCacheOptions) {
    const maxEntries = options.maxEntries ?? DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new GastownError('config_invalid', 'verified token cache: maxEntries must be a positive integer');
    this.maxEntries = maxEntries;
    this.#clock = options.clock;
  }

  /**
   * verifyAgentAccessToken at the cache's clock, served from the cache when this token was
   * verified before and would still verify now. Same claims, same errors; no `gen` check.
   */
  async verifyAgentAccessToken(config: AuthConfig, token: string): Promise<AgentClaims> {
    const now = this.#clock.now();
    // what the verifier refuses before parsing is not worth a hash
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) {
      return (await verifyAgentAccessTokenDetailed(config, token, { now })).claims;
    }
    const keyring = hmacKeyringOf(config.keyring);
    const key = await tokenKey(token);
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      if (keyring.sharesKey(cached.kid, cached.keyring) && acceptedAt(cached.times, config.policy, now)) {
        cached.referenced = true;
        this.#hits += 1;
        return cached.claims;
      }
      this.#remove(cached);
    }
    this.#misses += 1;
    const verified = await verifyAgentAccessTokenDetailed(config, token, { now });
    // frozen: the same object is handed to every later request with this token
    const claims = Object.freeze(verified.claims);
    this.#insert({
      key,
      claims,
      keyring,
      kid: verified.kid,
      times: { iat: claims.iat, exp: claims.exp, nbf: verified.notBeforeSeconds },
      slot: -1,
      referenced: false,
    });
    return claims;
  }

  stats(): VerifiedTokenCacheStats {
    return { size: this.#entries.size, hits: this.#hits, misses: this.#misses };
  }

  #remove(entry: Entry): void {
    this.#entries.delete(entry.key);
    this.#ring[entry.slot] = null;
  }

  #insert(entry: Entry): void {
    const present = this.#entries.get(entry.key); // verified meanwhile by a concurrent request
    if (present !== undefined) entry.slot = present.slot;
    else if (this.#ring.length < this.maxEntries) entry.slot = this.#ring.push(entry) - 1;
    else entry.slot = this.#freeSlot();
    this.#ring[entry.slot] = entry;
    this.#entries.set(entry.key, entry);
  }

  /** The clock hand: the first empty slot, or the first entry not used since the hand last passed it (evicted). */
  #freeSlot(): number {
    for (;;) {
      const slot = this.#hand;
      this.#hand = (slot + 1) % this.#ring.length;
      const entry = this.#ring[slot];
      if (entry === null || entry === undefined) return slot;
      if (!entry.referenced) {
        this.#entries.delete(entry.key);
        return slot;
      }
      entry.referenced = false;
    }
  }
}

export function createVerifiedTokenCache(options: VerifiedTokenCacheOptions): VerifiedTokenCache {
  return new VerifiedTokenCache(options);
}
