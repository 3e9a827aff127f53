import { env } from 'cloudflare:test';
import { GastownError } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { loadAppDeps, loadWorkerConfig } from '../../src/config';

describe('loadWorkerConfig (the whole env, parsed once)', () => {
  it('parses auth, town settings and the container runtime into one typed, frozen object', () => {
    const config = loadWorkerConfig(env);
    expect(config.auth.keyring.activeKid).toBe('k2');
    expect(config.town).toMatchObject({ heartbeatIntervalMs: 30_000, maxPolecats: 4, publicUrl: null });
    expect(typeof config.containerClientFactory).toBe('function');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.town)).toBe(true);
  });

  it('one parse per env object: the Worker entry and the TownDO share it', () => {
    const own = { ...env, GASTOWN_MAX_POLECATS: '7' } as Env;
    const first = loadWorkerConfig(own);
    expect(loadWorkerConfig(own)).toBe(first);
    expect(loadAppDeps(own).auth).toBe(first.auth);
    expect(first.town.maxPolecats).toBe(7);
    expect(loadWorkerConfig(env)).not.toBe(first);
  });

  it.each([
    { name: 'a bad town setting', vars: { GASTOWN_MAX_POLECATS: '0' }, variable: 'GASTOWN_MAX_POLECATS' },
    { name: 'a bad container host URL', vars: { GASTOWN_CONTAINER_HOST_URL: 'ftp://x' }, variable: 'GASTOWN_CONTAINER_HOST_URL' },
    { name: 'a bad auth setting', vars: { AGENT_TOKEN_TTL: 'soon' }, variable: 'AGENT_TOKEN_TTL' },
  ])('$name stops the Worker at startup with config_invalid', ({ vars, variable }) => {
    const bad = { ...env, ...vars } as Env;
    let caught: unknown = null;
    try {
      loadAppDeps(bad);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GastownError);
    expect((caught as GastownError).code).toBe('config_invalid');
    expect((caught as GastownError).message).toContain(variable);
  });
});
