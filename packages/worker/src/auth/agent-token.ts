/**
 * Agent access tokens: mint (active key) and verify (any key in the ring). The TTL policy
 * (AGENT_TOKEN_TTL) is the single source of both the mint upper bound and the verify max age.
 */
import {
  AGENT_AUDIENCE,
  AgentClaimsSchema,
  CredentialError,
  GastownError,
  MIN_AGENT_TOKEN_TTL_SECONDS,
  TOKEN_ISSUER,
  type AgentClaims,
} from '@gastown/protocol';
import { base64url } from 'jose';
import type { AgentSubject, AuthConfig, MintedAccessToken, TokenPolicy } from './contract';
import { signHs256, verifyHs256 } from './jwt';
import { hmacKeyringOf } from './keyring';

export type RandomBytes = (n: number) => Uint8Array;
export const cryptoRandomBytes: RandomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));

const AGENT_REQUIRED_CLAIMS = ['sub', 'townId', 'rigId', 'userId', 'role', 'gen', 'jti', 'iat', 'exp'] as const;

/** A town override may only shorten the deployment TTL; never below the protocol minimum. */
export function clampAgentTokenTtl(policy: TokenPolicy, ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds)) throw new GastownError('internal', 'agent token TTL must be a finite number');
  return Math.max(MIN_AGENT_TOKEN_TTL_SECONDS, Math.min(policy.agentTokenTtlSeconds, Math.floor(ttlSeconds)));
}

/**
 * Oldest token (by `iat`) the verifier accepts, before jose adds clockTolerance:
 * the deployment TTL itself, so the accepted age is TTL + tolerance.
 */
export function maxAgentTokenAgeSeconds(policy: TokenPolicy): number {
  return policy.agentTokenTtlSeconds;
}

/** A random token id (128 bits, base64url: 22 chars). */
export function newJti(randomBytes: RandomBytes): string {
  return base64url.encode(randomBytes(16));
}

/** Claims in a fixed key order, so re-signing the same values yields the same token. */
export function agentClaimsFor(subject: AgentSubject, times: { jti: string; iat: number; exp: number }): AgentClaims {
  const claims: AgentClaims = {
    iss: TOKEN_ISSUER,
    aud: AGENT_AUDIENCE,
    sub: subject.id,
    townId: subject.townId,
    rigId: subject.rigId,
    userId: subject.userId,
    role: subject.role,
    gen: subject.gen,
    jti: times.jti,
    iat: times.iat,
    exp: times.exp,
  };
  const checked = AgentClaimsSchema.safeParse(claims);
  if (!checked.success) {
    const fields = [...new Set(checked.error.issues.map((issue) => String(issue.path[0] ?? '?')))].join(', ');
    throw new GastownError('internal', `cannot mint an agent token: invalid subject field(s): ${fields}`);
  }
  return claims;
}

/** Sign agent claims with a given kid (mint uses the active one; a grace replay uses the stored one). */
export async function signAgentClaims(config: AuthConfig, kid: string, claims: AgentClaims): Promise<MintedAccessToken> {
  const accessToken = await signHs256(hmacKeyringOf(config.keyring), kid, claims);
  return {
    accessToken,
    accessTokenIssuedAt: claims.iat * 1000,
    accessTokenExpiresAt: claims.exp * 1000,
    gen: claims.gen,
    jti: claims.jti,
  };
}

export async function mintAgentAccessToken(
  config: AuthConfig,
  subject: AgentSubject,
  opts: { ttlSeconds: number; now: number; randomBytes?: RandomBytes },
): Promise<MintedAccessToken> {
  const iat = Math.floor(opts.now / 1000);
  const exp = iat + clampAgentTokenTtl(config.policy, opts.ttlSeconds);
  const claims = agentClaimsFor(subject, { jti: newJti(opts.randomBytes ?? cryptoRandomBytes), iat, exp });
  return signAgentClaims(config, config.keyring.activeKid, claims);
}

/** A verified agent access token: its claims, the kid that verified it and its `nbf` (if it had one). */
export interface VerifiedAgentToken {
  claims: AgentClaims;
  kid: string;
  /** jose checks an `nbf` claim although AgentClaims has none (we never mint one): a cache must honour it too. */
  notBeforeSeconds: number | null;
}

/** Signature, alg, iss, aud, claims, exp (with tolerance) and max age. Does NOT check `gen` (the caller does). */
export async function verifyAgentAccessToken(config: AuthConfig, token: string, opts: { now: number }): Promise<AgentClaims> {
  return (await verifyAgentAccessTokenDetailed(config, token, opts)).claims;
}

/** verifyAgentAccessToken, plus what a cache of verified tokens needs to know (verified-token-cache.ts). */
export async function verifyAgentAccessTokenDetailed(config: AuthConfig, token: string, opts: { now: number }): Promise<VerifiedAgentToken> {
  const { payload, kid } = await verifyHs256(hmacKeyringOf(config.keyring), token, {
    kind: 'access token',
    audience: AGENT_AUDIENCE,
    requiredClaims: AGENT_REQUIRED_CLAIMS,
    clockToleranceSeconds: config.policy.clockToleranceSeconds,
    maxTokenAgeSeconds: maxAgentTokenAgeSeconds(config.policy),
    now: opts.now,
  });
  const parsed = AgentClaimsSchema.safeParse(payload);
  if (!parsed.success) {
    const claim = String(parsed.error.issues[0]?.path[0] ?? '?');
    throw new CredentialError('token_malformed', `access token claim "${claim}" is missing or invalid`);
  }
  // jose has checked that an nbf, if present, is a number
  return { claims: parsed.data, kid, notBeforeSeconds: typeof payload.nbf === 'number' ? payload.nbf : null };
}
