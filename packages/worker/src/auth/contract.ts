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

/** Everything auth needs from env, validated at startup (throws ConfigError: a GastownError with code 'config_invalid'). */
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
  /** The agent the credential belongs to. */
  agentId: string;
  credentials: AgentCredentials;
  jti: string;
  /** true when this was an idempotent replay within the grace window */
  replay: boolean;
}

/** A presented refresh credential, hashed, with the agent it was issued to (null: not known here). Made by `locate`. */
export interface PresentedRefreshCredential {
  readonly presented: string;
  readonly hash: string;
  readonly agentId: string | null;
  /** The generation of its credential family (null: not known here). */
  readonly familyGen: number | null;
}

export interface IssueOptions {
  /**
   * `revoke` (default): the agent's previous families die as the new one is stored (a dispatch).
   * `keep`: they stay valid until the caller revokes them (`revokeAgent` with `belowGen`) — a
   * reissue hands the running agent its new family first, so none of its calls fails in between.
   */
  previousFamilies?: 'revoke' | 'keep';
  /**
   * Runs synchronously right before the new family is stored, after every await: throw to store
   * nothing (the caller's view of the agent changed while the secrets were minted).
   */
  precondition?: () => void;
}

export interface RevokeOptions {
  /** Revoke only the families of generations below this one (the end of a reissue's hand-over). */
  belowGen?: number;
}

export interface CredentialService {
  /** New family for a (re)dispatch or a reissue: revokes the agent's previous families (unless told to keep them), returns token + refresh credential. */
  issue(subject: AgentSubject, ttlSeconds: number, options?: IssueOptions): Promise<{ credentials: AgentCredentials; jti: string }>;
  /** A fresh access token in the current family (warm send, alarm push). */
  mintAccess(subject: AgentSubject, ttlSeconds: number): Promise<MintedAccessToken>;
  /** Step 1 of a refresh: hash the presented credential and find its agent. Malformed → refresh_invalid. */
  locate(presented: string): Promise<PresentedRefreshCredential>;
  /**
   * Step 2: rotate the located credential. `currentSubject` is that agent as it is now (null if
   * unknown), looked up with no await between it and this call: the decision runs before this
   * method's first await. A gen mismatch → token_revoked. Errors: refresh_invalid
   * (unknown/expired), refresh_reused (after grace: family revoked + event), token_revoked.
   */
  refresh(located: PresentedRefreshCredential, currentSubject: AgentSubject | null, ttlSeconds: number): Promise<RefreshOutcome>;
  /** Revoke every family of an agent (the end of a run), or those below a generation (the end of a reissue's hand-over). */
  revokeAgent(agentId: string, reason: string, options?: RevokeOptions): void;
  /** Agents that hold a credential family that is not revoked (some of them may have expired). */
  agentsWithLiveFamilies(): ReadonlySet<string>;
}
