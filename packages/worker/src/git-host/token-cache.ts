/**
 * Git tokens of a town's rigs, in the TownDO's memory only (never persisted: a restarted object
 * mints again). A grant is reused for the first quarter of its life, then the next caller mints a new
 * one — the container's git token broker pulls at 30–40 % of a token's life and must get a fresh
 * token then, not the one it holds (packages/container/src/git/git-token-schedule.ts); one
 * mint per rig at a time (single flight: concurrent callers share the pending promise). Entries are
 * keyed by rig and by the credential they came from, so a rig whose key or token changed never gets
 * a grant minted with the old one.
 */
import type { Clock, GitTokenGrant } from '@gastown/protocol';

interface CachedGrant {
  credentialKey: string;
  grant: GitTokenGrant;
  /** When the grant was minted (the cache's clock), ms. */
  issuedAt: number;
  /** Reused until then: a quarter of its life; always for a grant without an expiry (nothing to mint). */
  reuseUntil: number;
}

/** Share of a grant's life during which it is handed out again instead of minting. */
export const REUSE_FRACTION = 0.25;

/** When a grant minted at `issuedAt` stops being handed out again (a quarter of its life). Pure. */
export function reuseDeadline(issuedAt: number, expiresAt: number | null): number {
  if (expiresAt === null) return Number.POSITIVE_INFINITY;
  return issuedAt + Math.max(0, expiresAt - issuedAt) * REUSE_FRACTION;
}

/** Whether a cached grant may be handed out at `now`: before its reuse deadline and its expiry. Pure. */
export function isReusable(entry: { reuseUntil: number; grant: Pick<GitTokenGrant, 'expiresAt'> }, now: number): boolean {
  return now < entry.reuseUntil && (entry.grant.expiresAt === null || now < entry.grant.expiresAt);
}

export class GitTokenCache {
  private readonly grants = new Map<string, CachedGrant>();
  private readonly pending = new Map<string, { credentialKey: string; promise: Promise<GitTokenGrant> }>();

  constructor(private readonly clock: Clock) {}

  /** The cached grant of this rig and credential while reusable, else `mint()` (once, shared by concurrent callers). */
  async get(rigId: string, credentialKey: string, mint: () => Promise<GitTokenGrant>): Promise<GitTokenGrant> {
    const cached = this.grants.get(rigId);
    if (cached && cached.credentialKey === credentialKey && isReusable(cached, this.clock.now())) return cached.grant;
    const inFlight = this.pending.get(rigId);
    if (inFlight && inFlight.credentialKey === credentialKey) return inFlight.promise;
    const promise = (async () => {
      const issuedAt = this.clock.now();
      const grant = await mint();
      this.grants.set(rigId, { credentialKey, grant, issuedAt, reuseUntil: reuseDeadline(issuedAt, grant.expiresAt) });
      return grant;
    })();
    this.pending.set(rigId, { credentialKey, promise });
    try {
      return await promise;
    } finally {
      if (this.pending.get(rigId)?.promise === promise) this.pending.delete(rigId);
    }
  }

  /** Drop a rig's grant (its auth changed, or the host refused the token): the next caller mints. `token`: only if it is still that one. */
  invalidate(rigId: string, token?: string): void {
    const cached = this.grants.get(rigId);
    if (cached && (token === undefined || cached.grant.token === token)) this.grants.delete(rigId);
  }

  /** How many rigs hold a grant (tests). */
  get size(): number {
    return this.grants.size;
  }
}
