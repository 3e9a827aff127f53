import { CredentialError, GastownError } from '@gastown/protocol';
import type { MiddlewareHandler } from 'hono';
import { bearerToken, verifyUserToken, type VerifiedTokenCache } from '../auth';
import type { AppDeps, AppEnv } from './types';

/** User API: a user token (aud gastown:user); the user id goes on the context. */
export function userAuth(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async function authenticateUser(c, next) {
    const token = bearerToken(c.req.header('authorization'));
    const claims = await verifyUserToken(deps.auth, token, { now: deps.clock.now() });
    c.set('userId', claims.sub);
    await next();
  };
}

/**
 * Agent API: an agent access token (signature, claims, expiry), scoped to the route: the
 * route's town and agent must be the token's (403 token_scope). Whether the token's `gen` is
 * still current is the TownDO's check (401 token_revoked), done before any handler logic on
 * every request: `verifiedTokens` only spares re-checking a signature it has checked before.
 */
export function agentAuth(deps: AppDeps, verifiedTokens: VerifiedTokenCache): MiddlewareHandler<AppEnv> {
  return async function authenticateAgent(c, next) {
    const token = bearerToken(c.req.header('authorization'));
    const claims = await verifiedTokens.verifyAgentAccessToken(deps.auth, token);
    const townId = c.req.param('townId');
    const agentId = c.req.param('agentId');
    if (townId !== claims.townId) throw new CredentialError('token_scope', 'token was issued for another town');
    if (agentId !== undefined && agentId !== claims.sub) throw new CredentialError('token_scope', 'token was issued for another agent');
    c.set('agentClaims', claims);
    await next();
  };
}

/** Admin endpoint: `Authorization: Bearer <GASTOWN_ADMIN_SECRET>`, compared in constant time. */
export function adminAuth(deps: AppDeps): MiddlewareHandler<AppEnv> {
  const secret = deps.auth.adminSecret;
  return async function authenticateAdmin(c, next) {
    if (secret === null) throw new GastownError('admin_unauthorized', 'the admin endpoint is disabled (GASTOWN_ADMIN_SECRET is not set)');
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1] || !(await constantTimeEqual(match[1], secret))) {
      throw new GastownError('admin_unauthorized', 'admin credentials are missing or wrong');
    }
    await next();
  };
}

/** Equal strings, compared as SHA-256 digests so neither length nor content leaks through timing. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [x, y] = await Promise.all([crypto.subtle.digest('SHA-256', encoder.encode(a)), crypto.subtle.digest('SHA-256', encoder.encode(b))]);
  const xa = new Uint8Array(x);
  const ya = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < xa.length; i++) diff |= (xa[i] ?? 0) ^ (ya[i] ?? 0);
  return diff === 0;
}
