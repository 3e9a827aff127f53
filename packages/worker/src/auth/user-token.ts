/** User tokens (audience gastown:user): minted by the admin route, verified on the user API. */
import { CredentialError, GastownError, TOKEN_ISSUER, USER_AUDIENCE, UserClaimsSchema, UserIdSchema, type UserClaims } from '@gastown/protocol';
import { cryptoRandomBytes, newJti, type RandomBytes } from './agent-token';
import type { AuthConfig } from './contract';
import { signHs256, verifyHs256 } from './jwt';
import { hmacKeyringOf } from './keyring';

/** Longest user-token lifetime; also the verifier's max age, so the two cannot drift. */
export const MAX_USER_TOKEN_TTL_SECONDS = 365 * 24 * 3600;

const USER_REQUIRED_CLAIMS = ['sub', 'jti', 'iat', 'exp'] as const;

export async function mintUserToken(
  config: AuthConfig,
  userId: string,
  opts: { ttlSeconds: number; now: number; randomBytes?: RandomBytes },
): Promise<{ token: string; expiresAt: number }> {
  if (!UserIdSchema.safeParse(userId).success) throw new GastownError('validation_failed', 'userId is not a valid user id');
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 1 || opts.ttlSeconds > MAX_USER_TOKEN_TTL_SECONDS) {
    throw new GastownError('validation_failed', `ttlSeconds must be an integer in [1, ${MAX_USER_TOKEN_TTL_SECONDS}]`);
  }
  const iat = Math.floor(opts.now / 1000);
  const claims: UserClaims = {
    iss: TOKEN_ISSUER,
    aud: USER_AUDIENCE,
    sub: userId,
    jti: newJti(opts.randomBytes ?? cryptoRandomBytes),
    iat,
    exp: iat + opts.ttlSeconds,
  };
  const token = await signHs256(hmacKeyringOf(config.keyring), config.keyring.activeKid, claims);
  return { token, expiresAt: claims.exp * 1000 };
}

export async function verifyUserToken(config: AuthConfig, token: string, opts: { now: number }): Promise<UserClaims> {
  const { payload } = await verifyHs256(hmacKeyringOf(config.keyring), token, {
    kind: 'user token',
    audience: USER_AUDIENCE,
    requiredClaims: USER_REQUIRED_CLAIMS,
    clockToleranceSeconds: config.policy.clockToleranceSeconds,
    maxTokenAgeSeconds: MAX_USER_TOKEN_TTL_SECONDS,
    now: opts.now,
  });
  const parsed = UserClaimsSchema.safeParse(payload);
  if (!parsed.success) {
    const claim = String(parsed.error.issues[0]?.path[0] ?? '?');
    throw new CredentialError('token_malformed', `user token claim "${claim}" is missing or invalid`);
  }
  return parsed.data;
}
