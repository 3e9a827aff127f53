/**
 * Agent access tokens minted with a stack's own keys — the test knows the keyring, so it can
 * forge exactly what the worker would mint (same claims, same kid) for any generation. Used to
 * prove that a token of an old generation is refused with `token_revoked` while the current
 * generation is accepted. Never used outside tests.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { AGENT_AUDIENCE, TOKEN_ISSUER, type AgentRole } from '@gastown/protocol';
import { StackError } from './errors';
import type { StackKeys } from './keys';

export interface TestAgentSubject {
  agentId: string;
  townId: string;
  rigId: string | null;
  userId: string;
  role: AgentRole;
  gen: number;
}

export async function mintTestAgentToken(keys: StackKeys, subject: TestAgentSubject, options: { ttlSeconds?: number; nowMs?: number } = {}): Promise<string> {
  const secret = keys.jwtKeys[keys.activeKid];
  if (!secret) throw new StackError('stack_bad_option', 'the active kid is not in the keyring');
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  return new SignJWT({ townId: subject.townId, rigId: subject.rigId, userId: subject.userId, role: subject.role, gen: subject.gen })
    .setProtectedHeader({ alg: 'HS256', kid: keys.activeKid, typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(AGENT_AUDIENCE)
    .setSubject(subject.agentId)
    .setJti(randomBytes(16).toString('base64url'))
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.ttlSeconds ?? 300))
    .sign(new TextEncoder().encode(secret));
}
