/**
 * What to do with a presented refresh credential: a pure function of the stored record,
 * its family, the agent's current generation and `now`. No I/O, no clock.
 */
import type { TokenPolicy } from './contract';

/** Non-secret claims of the access token minted when a credential was used (for replays). */
export interface SuccessorClaims {
  kid: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface StoredRefreshCredential {
  hash: string;
  familyId: string;
  agentId: string;
  issuedAt: number;
  expiresAt: number;
  usedAt: number | null;
  successor: SuccessorClaims | null;
}

export interface StoredCredentialFamily {
  id: string;
  agentId: string;
  gen: number;
  createdAt: number;
  revokedAt: number | null;
  revokedReason: string | null;
}

export type RefreshDecision =
  | { kind: 'rotate' }
  | { kind: 'grace_replay'; successor: SuccessorClaims; usedAt: number }
  | { kind: 'reuse_detected'; usedAt: number }
  | { kind: 'expired' }
  | { kind: 'unknown' }
  | { kind: 'revoked'; reason: 'family_revoked' | 'agent_unknown' | 'gen_mismatch' };

export interface RefreshDecisionInput {
  record: StoredRefreshCredential | null;
  family: StoredCredentialFamily | null;
  /** The agent's generation now; null when the agent is unknown. */
  currentGen: number | null;
  now: number;
  policy: Pick<TokenPolicy, 'refreshGraceSeconds'>;
}

/**
 * Order matters:
 * 1. unknown credential (or a record without its family) → unknown;
 * 2. revoked family, unknown agent or another generation → revoked (a stopped agent stays dead);
 * 3. used within the grace window → grace_replay (the same pair again);
 * 4. past its idle expiry → expired (an old, used credential is just invalid, like a pruned one);
 * 5. used after the grace window → reuse_detected;
 * 6. otherwise → rotate.
 */
export function decideRefresh(input: RefreshDecisionInput): RefreshDecision {
  const { record, family, currentGen, now, policy } = input;
  if (!record || !family || family.id !== record.familyId) return { kind: 'unknown' };
  if (family.revokedAt !== null) return { kind: 'revoked', reason: 'family_revoked' };
  if (currentGen === null) return { kind: 'revoked', reason: 'agent_unknown' };
  if (family.gen !== currentGen) return { kind: 'revoked', reason: 'gen_mismatch' };
  if (record.usedAt !== null && record.successor !== null && now - record.usedAt <= policy.refreshGraceSeconds * 1000) {
    return { kind: 'grace_replay', successor: record.successor, usedAt: record.usedAt };
  }
  if (now >= record.expiresAt) return { kind: 'expired' };
  if (record.usedAt !== null) return { kind: 'reuse_detected', usedAt: record.usedAt };
  return { kind: 'rotate' };
}
