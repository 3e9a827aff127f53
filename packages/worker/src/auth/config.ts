/**
 * Auth configuration, parsed once at startup from the worker env. A bad value throws
 * ConfigError (code 'config_invalid') naming the variable, never its value.
 */
import {
  CLOCK_TOLERANCE_SECONDS,
  DEFAULT_AGENT_TOKEN_TTL_SECONDS,
  GastownError,
  MAX_AGENT_TOKEN_TTL_SECONDS,
  MIN_AGENT_TOKEN_TTL_SECONDS,
  REFRESH_GRACE_SECONDS,
  REFRESH_IDLE_EXPIRY_SECONDS,
} from '@gastown/protocol';
import { z } from 'zod';
import type { AuthConfig, TokenPolicy } from './contract';
import { HmacKeyring, KID_PATTERN, MIN_SECRET_CHARS } from './keyring';

/** Names of the env variables auth reads; the single place they are spelled. */
export const AUTH_ENV = {
  keys: 'GASTOWN_JWT_KEYS',
  activeKid: 'GASTOWN_JWT_ACTIVE_KID',
  secret: 'GASTOWN_JWT_SECRET',
  adminSecret: 'GASTOWN_ADMIN_SECRET',
  agentTokenTtl: 'AGENT_TOKEN_TTL',
} as const;

/** The kid of a ring built from GASTOWN_JWT_SECRET alone. */
export const SINGLE_SECRET_KID = 'default';
export const MIN_ADMIN_SECRET_CHARS = 32;

/** A configuration error: fail fast at startup. */
export class ConfigError extends GastownError {
  constructor(message: string) {
    super('config_invalid', `auth configuration: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The token policy; every time-related auth rule derives from this one object. */
export function createTokenPolicy(agentTokenTtlSeconds: number = DEFAULT_AGENT_TOKEN_TTL_SECONDS): TokenPolicy {
  if (!Number.isInteger(agentTokenTtlSeconds) || agentTokenTtlSeconds < MIN_AGENT_TOKEN_TTL_SECONDS || agentTokenTtlSeconds > MAX_AGENT_TOKEN_TTL_SECONDS) {
    throw new ConfigError(`agent token TTL must be an integer number of seconds in [${MIN_AGENT_TOKEN_TTL_SECONDS}, ${MAX_AGENT_TOKEN_TTL_SECONDS}]`);
  }
  return Object.freeze({
    agentTokenTtlSeconds,
    clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
    refreshGraceSeconds: REFRESH_GRACE_SECONDS,
    refreshIdleExpirySeconds: REFRESH_IDLE_EXPIRY_SECONDS,
  });
}

/** Parse and validate auth settings from the env (bindings, secrets, vars). */
export function loadAuthConfig(env: Record<string, unknown>): AuthConfig {
  const keyring = parseKeyring(env);
  const policy = createTokenPolicy(parseTtl(env));
  const adminSecret = optionalString(env, AUTH_ENV.adminSecret);
  if (adminSecret !== null && adminSecret.length < MIN_ADMIN_SECRET_CHARS) {
    throw new ConfigError(`${AUTH_ENV.adminSecret} must be at least ${MIN_ADMIN_SECRET_CHARS} characters`);
  }
  return Object.freeze({ keyring, policy, adminSecret });
}

function optionalString(env: Record<string, unknown>, name: string): string | null {
  const value = env[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ConfigError(`${name} must be a string`);
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function parseTtl(env: Record<string, unknown>): number {
  const raw = optionalString(env, AUTH_ENV.agentTokenTtl);
  if (raw === null) return DEFAULT_AGENT_TOKEN_TTL_SECONDS;
  const seconds = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(seconds) || seconds < MIN_AGENT_TOKEN_TTL_SECONDS || seconds > MAX_AGENT_TOKEN_TTL_SECONDS) {
    throw new ConfigError(`${AUTH_ENV.agentTokenTtl} must be an integer number of seconds in [${MIN_AGENT_TOKEN_TTL_SECONDS}, ${MAX_AGENT_TOKEN_TTL_SECONDS}]`);
  }
  return seconds;
}

const KeysJsonSchema = z.record(z.string(), z.string());

/**
 * GASTOWN_JWT_KEYS (+ GASTOWN_JWT_ACTIVE_KID) wins when set; GASTOWN_JWT_SECRET is then
 * ignored (so an operator can move from one to the other without a broken deploy in between).
 */
function parseKeyring(env: Record<string, unknown>): HmacKeyring {
  const keysJson = optionalString(env, AUTH_ENV.keys);
  if (keysJson !== null) return keyringFromJson(keysJson, optionalString(env, AUTH_ENV.activeKid));
  const secret = optionalString(env, AUTH_ENV.secret);
  if (secret === null) {
    throw new ConfigError(`set ${AUTH_ENV.keys} and ${AUTH_ENV.activeKid}, or ${AUTH_ENV.secret}`);
  }
  if (secret.length < MIN_SECRET_CHARS) throw new ConfigError(`${AUTH_ENV.secret} must be at least ${MIN_SECRET_CHARS} characters`);
  return new HmacKeyring({ [SINGLE_SECRET_KID]: secret }, SINGLE_SECRET_KID);
}

function keyringFromJson(keysJson: string, activeKid: string | null): HmacKeyring {
  let parsedJson: unknown;
  try {
    parsedJson = JSON.parse(keysJson);
  } catch {
    throw new ConfigError(`${AUTH_ENV.keys} is not valid JSON (expected {"kid": "secret", ...})`);
  }
  const parsed = KeysJsonSchema.safeParse(parsedJson);
  if (!parsed.success || Array.isArray(parsedJson)) {
    throw new ConfigError(`${AUTH_ENV.keys} must be a JSON object of string secrets ({"kid": "secret", ...})`);
  }
  const secrets = parsed.data;
  const kids = Object.keys(secrets);
  if (kids.length === 0) throw new ConfigError(`${AUTH_ENV.keys} holds no keys`);
  // Messages name positions, not kids: a ring pasted the wrong way round would put secrets in kids.
  kids.forEach((kid, index) => {
    if (!KID_PATTERN.test(kid)) throw new ConfigError(`${AUTH_ENV.keys}: kid #${index + 1} must match ${KID_PATTERN.source}`);
    if ((secrets[kid] ?? '').length < MIN_SECRET_CHARS) {
      throw new ConfigError(`${AUTH_ENV.keys}: the secret of kid #${index + 1} must be at least ${MIN_SECRET_CHARS} characters`);
    }
  });
  if (activeKid === null) throw new ConfigError(`${AUTH_ENV.activeKid} is required when ${AUTH_ENV.keys} is set`);
  if (!Object.hasOwn(secrets, activeKid)) {
    throw new ConfigError(`${AUTH_ENV.activeKid} names a kid that is not in ${AUTH_ENV.keys}`);
  }
  return new HmacKeyring(secrets, activeKid);
}
