/**
 * The contract between the auth module (src/auth/**) and its users (TownDO, routes).
 * Implemented by src/auth/index.ts. Types only; no behaviour here.
 */
import type { AccessTokenGrant, AgentClaims, AgentCredentials, AgentRole, Clock, UserClaims } from '@gastown/protocol';
import type { Sql } from '../storage/sql';

/** Parsed signing keys. Mint with `activeKid`; verify with any key in `keys`. */
export interface Keyring {
  readonly activeKid: string;
  readonly kids: readonly string[];
}

/**
 * Token policy parsed once from env. `agentTokenTtlSeconds` (AGENT_TOKEN_TTL) is the deployment's
 * TTL and the upper bound of any town override; verification's maxTokenAge derives from it.
 */
export interface TokenPolicy {
  readonly agentTokenTtlSeconds: number;
  readonly clockToleranceSeconds: number; // 60
  readonly refreshGraceSeconds: number; // 30
  readonly refreshIdleExpirySeconds: number; // 7 d
}

/** Everything auth needs from env, validated at startup (throws ConfigError: a GastownError with code 'internal'). */
export interface AuthConfig {
  readonly keyring: Keyring;
  readonly policy: TokenPolicy;
  readonly adminSecret: string | null;
}

/** Identity an agent token is minted for. */
export interface AgentSubject {
  id: string;
  townId: string;
  rigId: string | null;
  userId: string;
  role: AgentRole;
  gen: number;
}

/** Metadata of a freshly minted access token; goes onto the agent row (no secret). */
export interface MintedAccessToken extends AccessTokenGrant {
  jti: string;
}

/** Functions the rest of the worker calls. */
export interface AuthApi {
  /** parse env once at startup */
  loadAuthConfig(env: Record<string, unknown>): AuthConfig;
  mintAgentAccessToken(config: AuthConfig, subject: AgentSubject, opts: { ttlSeconds: number; now: number }): Promise<MintedAccessToken>;
  /** Signature, alg, iss, aud, required claims, exp with tolerance, maxTokenAge. Does NOT check gen (caller does → token_revoked). Throws CredentialError. */
  verifyAgentAccessToken(config: AuthConfig, token: string, opts: { now: number }): Promise<AgentClaims>;
  mintUserToken(config: AuthConfig, userId: string, opts: { ttlSeconds: number; now: number }): Promise<{ token: string; expiresAt: number }>;
  verifyUserToken(config: AuthConfig, token: string, opts: { now: number }): Promise<UserClaims>;
  /** Extract a bearer token from an Authorization header value; throws token_missing / token_malformed. */
  bearerToken(header: string | null | undefined): string;
}

/**
 * Refresh credentials, stored in the TownDO's SQLite (only SHA-256 hashes).
 * One instance per TownDO; construct with the DO's Sql, the auth config, a clock,
 * random bytes, and a sink for town events (credential_reuse_detected).
 */
export interface CredentialServiceDeps {
  sql: Sql;
  config: AuthConfig;
  clock: Clock;
  randomBytes: (n: number) => Uint8Array;
  recordEvent: (type: string, agentId: string, data: Record<string, unknown>) => void;
}

export interface RefreshOutcome {
  credentials: AgentCredentials;
  jti: string;
  /** true when this was an idempotent replay within the grace window */
  replay: boolean;
}

export interface CredentialService {
  /** Create the credential tables (idempotent). */
  migrate(): void;
  /** New family for a (re)dispatch: revokes the agent's previous families, returns token + refresh credential. */
  issue(subject: AgentSubject, ttlSeconds: number): Promise<{ credentials: AgentCredentials; jti: string }>;
  /** A fresh access token in the current family (warm send, alarm push). */
  mintAccess(subject: AgentSubject, ttlSeconds: number): Promise<MintedAccessToken>;
  /**
   * Rotate a refresh credential. `currentSubject(agentId)` returns the agent as it is now
   * (null if unknown); a gen mismatch → token_revoked. Errors: refresh_invalid (unknown/expired),
   * refresh_reused (after grace: family revoked + event), token_revoked.
   */
  refresh(presented: string, currentSubject: (agentId: string) => AgentSubject | null, ttlSeconds: (subject: AgentSubject) => number): Promise<RefreshOutcome>;
  /** Revoke every family of an agent (stop). */
  revokeAgent(agentId: string, reason: string): void;
}
