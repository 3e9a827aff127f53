import { z } from 'zod';
import { AgentIdSchema, RigIdSchema, TownIdSchema, UserIdSchema } from './common';

export const TOKEN_ISSUER = 'gastown';
export const AGENT_AUDIENCE = 'gastown:agent';
export const USER_AUDIENCE = 'gastown:user';
/** Accepted clock skew between the minter and the verifier. */
export const CLOCK_TOLERANCE_SECONDS = 60;
/** A refresh credential that is presented again within this window returns the same result. */
export const REFRESH_GRACE_SECONDS = 30;
/** A refresh credential unused for this long expires. */
export const REFRESH_IDLE_EXPIRY_SECONDS = 7 * 24 * 3600;
/** Default agent access-token lifetime. */
export const DEFAULT_AGENT_TOKEN_TTL_SECONDS = 3600;
export const MIN_AGENT_TOKEN_TTL_SECONDS = 2;
export const MAX_AGENT_TOKEN_TTL_SECONDS = 24 * 3600;
/** Prefix of opaque refresh credentials (so a leak scanner and a human can recognise one). */
export const REFRESH_CREDENTIAL_PREFIX = 'gtr_';

export const AgentRoleSchema = z.enum(['mayor', 'polecat', 'refinery']);
export type AgentRole = z.infer<typeof AgentRoleSchema>;

/** Claims of an agent access token (JWT, HS256, header `kid`). */
export const AgentClaimsSchema = z.object({
  iss: z.literal(TOKEN_ISSUER),
  aud: z.literal(AGENT_AUDIENCE),
  sub: AgentIdSchema,
  townId: TownIdSchema,
  rigId: RigIdSchema.nullable(),
  userId: UserIdSchema,
  role: AgentRoleSchema,
  gen: z.number().int().positive(),
  jti: z.string().min(8).max(64),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type AgentClaims = z.infer<typeof AgentClaimsSchema>;

/** Claims of a user token (JWT, HS256, header `kid`). */
export const UserClaimsSchema = z.object({
  iss: z.literal(TOKEN_ISSUER),
  aud: z.literal(USER_AUDIENCE),
  sub: UserIdSchema,
  jti: z.string().min(8).max(64),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type UserClaims = z.infer<typeof UserClaimsSchema>;

/** What the control plane hands a broker: a fresh access token and the next refresh credential. */
export const AgentCredentialsSchema = z.object({
  accessToken: z.string().min(16).max(4096),
  /** ms since epoch, from the token's `exp`. */
  accessTokenExpiresAt: z.number().int(),
  /** ms since epoch, from the token's `iat` (the minter's clock). */
  accessTokenIssuedAt: z.number().int(),
  refreshCredential: z.string().startsWith(REFRESH_CREDENTIAL_PREFIX).min(20).max(200),
  refreshCredentialExpiresAt: z.number().int(),
  gen: z.number().int().positive(),
});
export type AgentCredentials = z.infer<typeof AgentCredentialsSchema>;

/** A fresh access token without a new refresh credential (warm send and alarm push). */
export const AccessTokenGrantSchema = AgentCredentialsSchema.pick({
  accessToken: true,
  accessTokenExpiresAt: true,
  accessTokenIssuedAt: true,
  gen: true,
});
export type AccessTokenGrant = z.infer<typeof AccessTokenGrantSchema>;

/** The broker's view of one agent's credentials, reported with every heartbeat. Holds no secret. */
export const CredentialStatusSchema = z.object({
  /** ms since epoch (container clock, corrected for skew) at which the token in hand expires. */
  accessTokenExpiresAt: z.number().int(),
  /** `jti` fingerprint of the token in hand: first 8 hex of its SHA-256 (never the token). */
  tokenFingerprint: z.string().regex(/^[0-9a-f]{8}$/),
  nextRefreshAt: z.number().int().nullable(),
  lastRefreshAt: z.number().int().nullable(),
  lastRefreshSource: z.enum(['dispatch', 'pull', 'push', 'message', 'reactive']).nullable(),
  refreshCount: z.number().int().nonnegative(),
  consecutiveFailures: z.number().int().nonnegative(),
  unauthorizedCount: z.number().int().nonnegative(),
  lastError: z.string().max(200).nullable(),
  state: z.enum(['valid', 'refreshing', 'degraded', 'expired', 'revoked']),
});
export type CredentialStatus = z.infer<typeof CredentialStatusSchema>;
