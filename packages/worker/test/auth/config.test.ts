import { env } from 'cloudflare:test';
import { DEFAULT_AGENT_TOKEN_TTL_SECONDS, GastownError } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadAuthConfig } from '../../src/auth';

const LONG_A = 'a-secret-value-that-is-long-enough-0123456789';
const LONG_B = 'b-secret-value-that-is-long-enough-0123456789';
const SHORT = 'short-secret-xyz';

describe('loadAuthConfig', () => {
  it('reads the test bindings (two-key ring, active k2)', () => {
    const config = loadAuthConfig(env as unknown as Record<string, unknown>);
    expect(config.keyring.activeKid).toBe('k2');
    expect([...config.keyring.kids].sort()).toEqual(['k1', 'k2']);
    expect(config.policy.agentTokenTtlSeconds).toBe(3600);
    expect(config.adminSecret).not.toBeNull();
  });

  const good: { name: string; env: Record<string, unknown>; kids: string[]; active: string; ttl: number; admin: boolean }[] = [
    {
      name: 'single secret → kid "default"',
      env: { GASTOWN_JWT_SECRET: LONG_A },
      kids: ['default'],
      active: 'default',
      ttl: DEFAULT_AGENT_TOKEN_TTL_SECONDS,
      admin: false,
    },
    {
      name: 'keys + active kid',
      env: { GASTOWN_JWT_KEYS: JSON.stringify({ a: LONG_A, b: LONG_B }), GASTOWN_JWT_ACTIVE_KID: 'b', AGENT_TOKEN_TTL: '28800' },
      kids: ['a', 'b'],
      active: 'b',
      ttl: 28800,
      admin: false,
    },
    {
      name: 'keys win over a leftover single secret',
      env: { GASTOWN_JWT_KEYS: JSON.stringify({ default: LONG_A, b: LONG_B }), GASTOWN_JWT_ACTIVE_KID: 'b', GASTOWN_JWT_SECRET: LONG_A },
      kids: ['default', 'b'],
      active: 'b',
      ttl: DEFAULT_AGENT_TOKEN_TTL_SECONDS,
      admin: false,
    },
    {
      name: 'empty TTL var → default',
      env: { GASTOWN_JWT_SECRET: LONG_A, AGENT_TOKEN_TTL: '' },
      kids: ['default'],
      active: 'default',
      ttl: 3600,
      admin: false,
    },
    { name: 'admin secret', env: { GASTOWN_JWT_SECRET: LONG_A, GASTOWN_ADMIN_SECRET: LONG_B }, kids: ['default'], active: 'default', ttl: 3600, admin: true },
  ];
  it.each(good)('accepts: $name', ({ env: e, kids, active, ttl, admin }) => {
    const config = loadAuthConfig(e);
    expect([...config.keyring.kids]).toEqual(kids);
    expect(config.keyring.activeKid).toBe(active);
    expect(config.policy.agentTokenTtlSeconds).toBe(ttl);
    expect(config.policy.clockToleranceSeconds).toBe(60);
    expect(config.adminSecret !== null).toBe(admin);
    // the config never serialises a secret
    expect(JSON.stringify(config)).not.toContain(LONG_A);
    expect(JSON.stringify(config.keyring)).not.toContain(LONG_B);
  });

  const bad: { name: string; env: Record<string, unknown>; names: string }[] = [
    { name: 'nothing set', env: {}, names: 'GASTOWN_JWT_SECRET' },
    { name: 'short single secret', env: { GASTOWN_JWT_SECRET: SHORT }, names: 'GASTOWN_JWT_SECRET' },
    { name: 'keys not JSON', env: { GASTOWN_JWT_KEYS: `{a: ${LONG_A}`, GASTOWN_JWT_ACTIVE_KID: 'a' }, names: 'GASTOWN_JWT_KEYS' },
    { name: 'keys an array', env: { GASTOWN_JWT_KEYS: JSON.stringify([LONG_A]), GASTOWN_JWT_ACTIVE_KID: '0' }, names: 'GASTOWN_JWT_KEYS' },
    { name: 'keys a non-string secret', env: { GASTOWN_JWT_KEYS: JSON.stringify({ a: 42 }), GASTOWN_JWT_ACTIVE_KID: 'a' }, names: 'GASTOWN_JWT_KEYS' },
    { name: 'keys empty', env: { GASTOWN_JWT_KEYS: '{}', GASTOWN_JWT_ACTIVE_KID: 'a' }, names: 'GASTOWN_JWT_KEYS' },
    {
      name: 'short secret in ring',
      env: { GASTOWN_JWT_KEYS: JSON.stringify({ a: LONG_A, b: SHORT }), GASTOWN_JWT_ACTIVE_KID: 'a' },
      names: 'GASTOWN_JWT_KEYS',
    },
    { name: 'secret pasted as kid', env: { GASTOWN_JWT_KEYS: JSON.stringify({ [SHORT]: 'a' }), GASTOWN_JWT_ACTIVE_KID: 'a' }, names: 'GASTOWN_JWT_KEYS' },
    { name: 'active kid missing', env: { GASTOWN_JWT_KEYS: JSON.stringify({ a: LONG_A }) }, names: 'GASTOWN_JWT_ACTIVE_KID' },
    { name: 'active kid not in ring', env: { GASTOWN_JWT_KEYS: JSON.stringify({ a: LONG_A }), GASTOWN_JWT_ACTIVE_KID: 'zz' }, names: 'GASTOWN_JWT_ACTIVE_KID' },
    { name: 'TTL not a number', env: { GASTOWN_JWT_SECRET: LONG_A, AGENT_TOKEN_TTL: '1h' }, names: 'AGENT_TOKEN_TTL' },
    { name: 'TTL below minimum', env: { GASTOWN_JWT_SECRET: LONG_A, AGENT_TOKEN_TTL: '1' }, names: 'AGENT_TOKEN_TTL' },
    { name: 'TTL above maximum', env: { GASTOWN_JWT_SECRET: LONG_A, AGENT_TOKEN_TTL: '86401' }, names: 'AGENT_TOKEN_TTL' },
    { name: 'short admin secret', env: { GASTOWN_JWT_SECRET: LONG_A, GASTOWN_ADMIN_SECRET: SHORT }, names: 'GASTOWN_ADMIN_SECRET' },
    { name: 'non-string var', env: { GASTOWN_JWT_SECRET: 123 }, names: 'GASTOWN_JWT_SECRET' },
  ];
  it.each(bad)('rejects at startup: $name', ({ env: e, names }) => {
    let thrown: unknown;
    try {
      loadAuthConfig(e);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(thrown).toBeInstanceOf(GastownError);
    const error = thrown as GastownError;
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain(names);
    for (const secret of [LONG_A, LONG_B, SHORT]) expect(error.message).not.toContain(secret);
  });
});
