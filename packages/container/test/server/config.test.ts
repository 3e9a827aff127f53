import { describe, expect, it } from 'vitest';
import { DEFAULT_PLUGIN_PATH, loadConfig, scrubProcessEnv } from '../../src/config';

const BASE = { GASTOWN_CONTAINER_KEY: 'test-container-key-0123456789abcdef' };

describe('loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig(BASE, { randomInstanceId: () => 'ci_fixed', tmpDir: '/tmp' });
    expect(config).toEqual({
      port: 8080,
      hostname: '0.0.0.0',
      containerKey: BASE.GASTOWN_CONTAINER_KEY,
      instanceId: 'ci_fixed',
      dataDir: '/tmp/gastown-container-ci_fixed',
      heartbeatIntervalMs: 30_000,
      idleTimeoutMs: { polecat: 120_000, refinery: 600_000 },
      stopTimeoutMs: 20_000,
      pluginPath: DEFAULT_PLUGIN_PATH,
      logLevel: 'info',
      townEnv: {},
      clockOffsetMs: 0,
    });
    expect(DEFAULT_PLUGIN_PATH).toMatch(/packages\/plugin\/dist\/gastown-plugin\.js$/);
  });

  it('reads every variable and strips the town env prefix', () => {
    const config = loadConfig({
      ...BASE,
      CONTAINER_PORT: '0',
      GASTOWN_BIND_LOOPBACK: '1',
      GASTOWN_DATA_DIR: '/data',
      GASTOWN_INSTANCE_ID: 'ci_abc',
      GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '5',
      GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS: '7',
      GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS: '9',
      GASTOWN_PLUGIN_PATH: '/opt/plugin.js',
      TOWN_ENV_OPENAI_API_KEY: 'sk-test',
      TOWN_ENV_OTHER: 'v',
      OPENAI_API_KEY: 'not-a-town-var',
    });
    expect(config).toMatchObject({
      port: 0,
      hostname: '127.0.0.1',
      dataDir: '/data',
      instanceId: 'ci_abc',
      heartbeatIntervalMs: 5000,
      idleTimeoutMs: { polecat: 7000, refinery: 9000 },
      pluginPath: '/opt/plugin.js',
      townEnv: { OPENAI_API_KEY: 'sk-test', OTHER: 'v' },
    });
  });

  it.each([
    { name: 'missing key', env: {}, field: 'GASTOWN_CONTAINER_KEY' },
    { name: 'short key', env: { GASTOWN_CONTAINER_KEY: 'short' }, field: 'GASTOWN_CONTAINER_KEY' },
    { name: 'bad port', env: { ...BASE, CONTAINER_PORT: '80a' }, field: 'CONTAINER_PORT' },
    { name: 'port out of range', env: { ...BASE, CONTAINER_PORT: '70000' }, field: 'CONTAINER_PORT' },
    { name: 'relative data dir', env: { ...BASE, GASTOWN_DATA_DIR: 'data' }, field: 'GASTOWN_DATA_DIR' },
    { name: 'zero heartbeat', env: { ...BASE, GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '0' }, field: 'GASTOWN_HEARTBEAT_INTERVAL_SECONDS' },
    { name: 'bad town env name', env: { ...BASE, TOWN_ENV_1BAD: 'x' }, field: 'TOWN_ENV_1BAD' },
  ])('fails fast: $name', ({ env, field }) => {
    expect(() => loadConfig(env)).toThrow(expect.objectContaining({ code: 'config_invalid', message: expect.stringContaining(field) }));
  });

  it('never echoes a value in its error', () => {
    expect(() => loadConfig({ GASTOWN_CONTAINER_KEY: 'sekrit' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('sekrit') }));
  });

  it('scrubProcessEnv removes the key and town env vars', () => {
    const env: NodeJS.ProcessEnv = { ...BASE, TOWN_ENV_X: 'y', PATH: '/bin' };
    scrubProcessEnv(env);
    expect(env).toEqual({ PATH: '/bin' });
  });
});
