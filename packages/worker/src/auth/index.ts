/**
 * The auth module: keyring and config, agent and user tokens, bearer parsing, and the
 * SQL-backed refresh-credential service. See contract.ts for the interfaces.
 */
import { bearerToken } from './bearer';
import { loadAuthConfig } from './config';
import { mintAgentAccessToken, verifyAgentAccessToken } from './agent-token';
import type { AuthApi } from './contract';
import { mintUserToken, verifyUserToken } from './user-token';

export type * from './contract';
export { loadAuthConfig, createTokenPolicy, ConfigError, AUTH_ENV, SINGLE_SECRET_KID } from './config';
export { createKeyring, HmacKeyring } from './keyring';
export {
  mintAgentAccessToken,
  verifyAgentAccessToken,
  verifyAgentAccessTokenDetailed,
  clampAgentTokenTtl,
  maxAgentTokenAgeSeconds,
  cryptoRandomBytes,
  type RandomBytes,
  type VerifiedAgentToken,
} from './agent-token';
export {
  VerifiedTokenCache,
  createVerifiedTokenCache,
  acceptedAt,
  DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES,
  type TokenTimes,
  type VerifiedTokenCacheOptions,
  type VerifiedTokenCacheStats,
} from './verified-token-cache';
export { mintUserToken, verifyUserToken, MAX_USER_TOKEN_TTL_SECONDS } from './user-token';
export { bearerToken } from './bearer';
export { createCredentialService, CREDENTIAL_REUSE_EVENT } from './credential-service';
export { decideRefresh, type RefreshDecision, type RefreshDecisionInput } from './refresh-decision';
export { credentialFingerprint, hashRefreshCredential, isRefreshCredentialShape } from './refresh-credential';

/** The AuthApi of contract.ts, as one object (compile-time proof the functions match the contract). */
export const authApi: AuthApi = {
  loadAuthConfig,
  mintAgentAccessToken,
  verifyAgentAccessToken,
  mintUserToken,
  verifyUserToken,
  bearerToken,
};
