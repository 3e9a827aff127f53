import { describe, expect, it } from 'vitest';
import { decideRefresh, type RefreshDecisionInput } from '../../src/auth';
import type { StoredCredentialFamily, StoredRefreshCredential } from '../../src/auth/refresh-decision';

const NOW = 1_000_000_000_000;
const DAY = 86_400_000;
const policy = { refreshGraceSeconds: 30 };
const successor = { kid: 'k2', jti: 'jti-0123456789', iat: 1, exp: 2 };

function record(o: Partial<StoredRefreshCredential> = {}): StoredRefreshCredential {
  return { hash: 'ab'.repeat(32), familyId: 'fam_1', agentId: 'ag_x', issuedAt: NOW - DAY, expiresAt: NOW + 6 * DAY, usedAt: null, successor: null, ...o };
}
function family(o: Partial<StoredCredentialFamily> = {}): StoredCredentialFamily {
  return { id: 'fam_1', agentId: 'ag_x', gen: 3, createdAt: NOW - 2 * DAY, revokedAt: null, revokedReason: null, ...o };
}
const used = (agoMs: number) => ({ usedAt: NOW - agoMs, successor });

const cases: { name: string; input: Partial<RefreshDecisionInput>; kind: string }[] = [
  { name: 'fresh credential', input: {}, kind: 'rotate' },
  { name: 'no record', input: { record: null }, kind: 'unknown' },
  { name: 'record without family', input: { family: null }, kind: 'unknown' },
  { name: 'family mismatch', input: { family: family({ id: 'fam_2' }) }, kind: 'unknown' },
  { name: 'family revoked', input: { family: family({ revokedAt: NOW - 1 }) }, kind: 'revoked' },
  { name: 'agent unknown', input: { currentGen: null }, kind: 'revoked' },
  { name: 'agent re-dispatched (gen moved on)', input: { currentGen: 4 }, kind: 'revoked' },
  { name: 'revoked beats grace replay', input: { record: record(used(1000)), family: family({ revokedAt: NOW - 1 }) }, kind: 'revoked' },
  { name: 'used 0 s ago', input: { record: record(used(0)) }, kind: 'grace_replay' },
  { name: 'used 30 s ago (edge, inclusive)', input: { record: record(used(30_000)) }, kind: 'grace_replay' },
  { name: 'used 30.001 s ago', input: { record: record(used(30_001)) }, kind: 'reuse_detected' },
  { name: 'used a day ago', input: { record: record(used(DAY)) }, kind: 'reuse_detected' },
  { name: 'idle-expired', input: { record: record({ expiresAt: NOW }) }, kind: 'expired' },
  { name: 'used long ago and expired', input: { record: record({ ...used(8 * DAY), expiresAt: NOW - DAY }) }, kind: 'expired' },
  { name: 'replay in grace right after expiry', input: { record: record({ ...used(10_000), expiresAt: NOW - 5000 }) }, kind: 'grace_replay' },
];

describe('decideRefresh', () => {
  it.each(cases)('$name → $kind', ({ input, kind }) => {
    const decision = decideRefresh({ record: record(), family: family(), currentGen: 3, now: NOW, policy, ...input });
    expect(decision.kind).toBe(kind);
  });
});
