/** HS256 agent tokens for the fake control plane, the same claim shape the worker mints. */
import { randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { AGENT_AUDIENCE, AgentClaimsSchema, TOKEN_ISSUER } from '@gastown/protocol';
import type { AgentClaims, AgentIdentity } from '@gastown/protocol';

export const FAKE_KID = 'fake1';

export interface MintedToken {
  token: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

export async function mintAgentToken(key: Uint8Array, agent: AgentIdentity, gen: number, nowMs: number, ttlSeconds: number): Promise<MintedToken> {
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + ttlSeconds;
  const jti = randomBytes(12).toString('hex');
  const token = await new SignJWT({ townId: agent.townId, rigId: agent.rigId, userId: agent.userId, role: agent.role, gen })
    .setProtectedHeader({ alg: 'HS256', kid: FAKE_KID, typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(AGENT_AUDIENCE)
    .setSubject(agent.id)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key);
  return { token, jti, issuedAt: iat * 1000, expiresAt: exp * 1000 };
}

export type VerifyResult = { ok: true; claims: AgentClaims } | { ok: false; code: 'token_expired' | 'token_malformed' | 'token_bad_signature' };

export async function verifyAgentToken(key: Uint8Array, token: string, nowMs: number, clockToleranceSeconds: number): Promise<VerifyResult> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      audience: AGENT_AUDIENCE,
      currentDate: new Date(nowMs),
      clockTolerance: clockToleranceSeconds,
      requiredClaims: ['sub', 'jti', 'iat', 'exp'],
    });
    const parsed = AgentClaimsSchema.safeParse(payload);
    return parsed.success ? { ok: true, claims: parsed.data } : { ok: false, code: 'token_malformed' };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, code: 'token_expired' };
    if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, code: 'token_bad_signature' };
    return { ok: false, code: 'token_malformed' };
  }
}
