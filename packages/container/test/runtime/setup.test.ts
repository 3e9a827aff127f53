import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROVIDER_KINDS, type AgentIdentity } from '@gastown/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { platformPackages, resolveRuntimeBinary } from '../../src/runtime/binary';
import { brokerLlmBaseUrl, buildRuntimeConfig, type RuntimeConfigInput } from '../../src/runtime/config';
import { buildRuntimeEnv, INHERITED_ENV_VARS } from '../../src/runtime/env';
import { RuntimeError } from '../../src/runtime/errors';
import { FLAVORS } from '../../src/runtime/flavor';
import { allowedRuntimeModels, runtimeModels } from '../../src/runtime/runtime-models';
import { prepareStateDir, runtimePaths } from '../../src/runtime/state-dir';

const scratch = mkdtempSync(join(tmpdir(), 'gt-runtime-setup-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const agent: AgentIdentity = { id: 'ag_mayor0001', townId: 'town_abc123', rigId: null, userId: 'u1', role: 'mayor', name: 'mayor', gen: 1 };

describe('config', () => {
  const input: RuntimeConfigInput = {
    brokerUrl: 'http://127.0.0.1:4000/',
    brokerKey: 'gtb_brokerkey',
    providerKind: 'openai-compatible',
    model: 'gpt-4o-mini',
    smallModel: 'gpt-4o-mini',
    pluginPath: '/opt/gastown/plugin.js',
    instructionFiles: ['/state/instructions.md'],
  };
  const config = buildRuntimeConfig(input);

  it('points the only provider at the broker LLM proxy with the broker key', () => {
    expect(brokerLlmBaseUrl('http://127.0.0.1:4000/')).toBe('http://127.0.0.1:4000/broker/llm/v1');
    expect(config.provider).toEqual({
      gastown: {
        npm: '@ai-sdk/openai-compatible',
        name: 'Gastown broker',
        options: { baseURL: 'http://127.0.0.1:4000/broker/llm/v1', apiKey: 'gtb_brokerkey' },
        models: { 'gpt-4o-mini': { name: 'gpt-4o-mini', tool_call: true, limit: { context: 128000, output: 4096 } } },
      },
    });
    expect(config).toMatchObject({ model: 'gastown/gpt-4o-mini', small_model: 'gastown/gpt-4o-mini', enabled_providers: ['gastown'] });
  });

  it.each(PROVIDER_KINDS.map((kind) => ({ name: kind, kind, npm: kind === 'anthropic' ? '@ai-sdk/anthropic' : '@ai-sdk/openai-compatible' })))(
    'speaks the wire format of a $name provider to the proxy ($npm)',
    ({ kind, npm }) => {
      const provider = (buildRuntimeConfig({ ...input, providerKind: kind }).provider as Record<string, { npm: string; options: unknown }>).gastown!;
      expect(provider.npm).toBe(npm);
      expect(provider.options).toEqual({ baseURL: 'http://127.0.0.1:4000/broker/llm/v1', apiKey: 'gtb_brokerkey' });
    },
  );

  it('declares the small model beside the model, and the schema of the flavor', () => {
    const two = buildRuntimeConfig({
      ...input,
      providerKind: 'anthropic',
      model: 'claude-sonnet-4-5',
      smallModel: 'claude-haiku-4-5',
      schemaUrl: FLAVORS.kilo.configSchemaUrl,
    });
    expect(two).toMatchObject({ $schema: 'https://app.kilo.ai/config.json', model: 'gastown/claude-sonnet-4-5', small_model: 'gastown/claude-haiku-4-5' });
    expect(Object.keys((two.provider as { gastown: { models: object } }).gastown.models)).toEqual(['claude-sonnet-4-5', 'claude-haiku-4-5']);
    expect(config.$schema).toBe('https://opencode.ai/config.json');
  });

  it('is offline-safe, loads the plugin by file URL and never prompts', () => {
    expect(config).toMatchObject({
      autoupdate: false,
      share: 'disabled',
      snapshot: false,
      lsp: false,
      formatter: false,
      plugin: ['file:///opt/gastown/plugin.js'],
      instructions: ['/state/instructions.md'],
      permission: { '*': 'allow', question: 'deny' },
    });
  });
});

describe('runtime models', () => {
  const provider = { model: 'legacy-model' };
  it.each([
    { name: 'the request model and small model', runtime: { model: 'm1', smallModel: 's1', provider }, want: { model: 'm1', smallModel: 's1' } },
    { name: 'the request model, small model defaults to it', runtime: { model: 'm1', provider }, want: { model: 'm1', smallModel: 'm1' } },
    { name: "an older control plane: the provider's model", runtime: { provider }, want: { model: 'legacy-model', smallModel: 'legacy-model' } },
    { name: 'a small model with the legacy model', runtime: { smallModel: 's1', provider }, want: { model: 'legacy-model', smallModel: 's1' } },
  ])('uses $name', ({ runtime, want }) => {
    expect(runtimeModels(runtime)).toEqual(want);
  });

  it('fails with config_invalid when the request names no model at all', () => {
    expect(() => runtimeModels({ smallModel: 's1', provider: {} })).toThrow(expect.objectContaining({ code: 'config_invalid' }));
  });

  it('allows the model and the small model, once each', () => {
    expect(allowedRuntimeModels({ model: 'm', smallModel: 'm' })).toEqual(['m']);
    expect(allowedRuntimeModels({ model: 'm', smallModel: 's' })).toEqual(['m', 's']);
  });
});

describe('env', () => {
  const planted = {
    PATH: '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    GASTOWN_CONTAINER_KEY: 'planted-container-key',
    OPENAI_API_KEY: 'planted-openai-key',
    AWS_SECRET_ACCESS_KEY: 'planted-aws',
    GASTOWN_JWT_SECRET: 'planted-jwt',
    HOME: '/root',
    NODE_OPTIONS: '--require /evil.js',
  };
  const paths = runtimePaths('/state/ag_mayor0001', FLAVORS.opencode);
  const env = buildRuntimeEnv({
    flavor: FLAVORS.opencode,
    agent,
    paths,
    brokerUrl: 'http://127.0.0.1:4000',
    brokerKey: 'gtb_brokerkey',
    serverPassword: 'server-pw',
    config: { model: 'gastown/m' },
    baseEnv: planted,
  });

  it('copies only allow-listed variables from the container', () => {
    for (const value of ['planted-container-key', 'planted-openai-key', 'planted-aws', 'planted-jwt', '/root', '--require /evil.js']) {
      expect(Object.values(env)).not.toContain(value);
    }
    expect(env.PATH).toBe('/usr/bin:/bin');
    expect(env.LANG).toBe('en_US.UTF-8');
    expect(INHERITED_ENV_VARS.every((name) => !/KEY|SECRET|TOKEN|PASSWORD/.test(name))).toBe(true);
  });

  it('gives the agent its own HOME, XDG dirs and TMPDIR under the state dir', () => {
    expect(env).toMatchObject({
      HOME: '/state/ag_mayor0001/home',
      XDG_CONFIG_HOME: '/state/ag_mayor0001/home/.config',
      XDG_DATA_HOME: '/state/ag_mayor0001/home/.local/share',
      XDG_CACHE_HOME: '/state/ag_mayor0001/home/.cache',
      XDG_STATE_HOME: '/state/ag_mayor0001/home/.local/state',
      TMPDIR: '/state/ag_mayor0001/tmp',
    });
  });

  it('passes the broker coordinates, role and offline switches', () => {
    expect(env).toMatchObject({
      GASTOWN_BROKER_URL: 'http://127.0.0.1:4000',
      GASTOWN_AGENT_KEY: 'gtb_brokerkey',
      GASTOWN_AGENT_ROLE: 'mayor',
      GASTOWN_AGENT_ID: 'ag_mayor0001',
      OPENCODE_CONFIG_CONTENT: '{"model":"gastown/m"}',
      OPENCODE_SERVER_USERNAME: 'opencode',
      OPENCODE_SERVER_PASSWORD: 'server-pw',
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_DISABLE_PROJECT_CONFIG: '1',
    });
  });

  it('uses the KILO_ prefix for kilo', () => {
    const kilo = buildRuntimeEnv({ flavor: FLAVORS.kilo, agent, paths, brokerUrl: 'u', brokerKey: 'k', serverPassword: 'p', config: {}, baseEnv: {} });
    expect(kilo).toMatchObject({ KILO_SERVER_PASSWORD: 'p', KILO_SERVER_USERNAME: 'kilo', KILO_DISABLE_MODELS_FETCH: '1', KILO_TELEMETRY_LEVEL: 'off' });
    expect(kilo).toMatchObject({ KILO_CONFIG_CONTENT: '{}', KILO_DISABLE_SESSION_INGEST: '1' });
    expect(env.KILO_DISABLE_SESSION_INGEST).toBeUndefined();
    expect(Object.keys(kilo).some((k) => k.startsWith('OPENCODE_'))).toBe(false);
    expect(kilo.PATH).toBeTruthy();
  });
});

describe('state dir', () => {
  it('seeds the config dir so opencode does not npm-install its plugin SDK', async () => {
    const paths = runtimePaths(join(scratch, 'agent'), FLAVORS.opencode);
    await prepareStateDir(paths, FLAVORS.opencode, 'be the mayor');
    await prepareStateDir(paths, FLAVORS.opencode, 'be the mayor'); // idempotent
    expect(paths.configDir).toBe(join(scratch, 'agent', 'home', '.config', 'opencode'));
    expect(existsSync(join(paths.configDir, 'node_modules'))).toBe(true);
    expect(JSON.parse(readFileSync(join(paths.configDir, 'package.json'), 'utf8'))).toEqual({ dependencies: { '@opencode-ai/plugin': '1.18.33' } });
    const lock = JSON.parse(readFileSync(join(paths.configDir, 'package-lock.json'), 'utf8'));
    expect(lock.packages['node_modules/@opencode-ai/plugin']).toEqual({ version: '1.18.33' });
    expect(readFileSync(paths.instructionsFile, 'utf8')).toBe('be the mayor');
    for (const dir of [paths.tmpDir, paths.xdgDataHome, paths.xdgCacheHome, paths.xdgStateHome]) expect(existsSync(dir)).toBe(true);
  });
});

describe('state dir (kilo)', () => {
  it("seeds kilo's own config dir with its plugin SDK at kilo's version", async () => {
    const paths = runtimePaths(join(scratch, 'kilo-agent'), FLAVORS.kilo);
    await prepareStateDir(paths, FLAVORS.kilo, 'be the mayor');
    expect(paths.configDir).toBe(join(scratch, 'kilo-agent', 'home', '.config', 'kilo'));
    expect(JSON.parse(readFileSync(join(paths.configDir, 'package.json'), 'utf8'))).toEqual({ dependencies: { '@kilocode/plugin': '7.7.7' } });
    expect(existsSync(join(paths.configDir, 'node_modules'))).toBe(true);
  });
});

describe('binary resolution', () => {
  const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0]);
  function install(root: string, relative: string, content: Buffer | string) {
    const path = join(root, 'node_modules', relative);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
    chmodSync(path, 0o755);
    return path;
  }

  it('fails with runtime_binary_missing when nothing is installed (kilo and opencode alike)', () => {
    const empty = mkdtempSync(join(scratch, 'empty-'));
    for (const flavor of [FLAVORS.kilo, FLAVORS.opencode]) {
      try {
        resolveRuntimeBinary(flavor, { resolveFrom: empty });
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(RuntimeError);
        expect((error as RuntimeError).runtimeCode).toBe('runtime_binary_missing');
        expect((error as RuntimeError).code).toBe('container_unavailable');
        expect((error as RuntimeError).message).toContain(flavor.installHint);
      }
    }
  });

  it('prefers the wrapper binary when it is native, skips a script shim, walks up to parent node_modules', () => {
    const root = mkdtempSync(join(scratch, 'tree-'));
    const nested = join(root, 'packages', 'container');
    mkdirSync(nested, { recursive: true });
    install(root, 'opencode-ai/bin/opencode.exe', '#!/usr/bin/env node\n');
    const platform = install(root, 'opencode-linux-x64/bin/opencode', ELF);
    expect(resolveRuntimeBinary(FLAVORS.opencode, { resolveFrom: nested, platform: 'linux', arch: 'x64', hasAvx2: true })).toBe(platform);
    const wrapper = install(root, 'opencode-ai/bin/opencode.exe', ELF);
    expect(resolveRuntimeBinary(FLAVORS.opencode, { resolveFrom: nested, platform: 'linux', arch: 'x64', hasAvx2: true })).toBe(wrapper);
  });

  it.runIf(process.platform === 'linux' && process.arch === 'x64')('finds the installed kilo 7.7.7: the native platform binary, not the wrapper script', () => {
    const path = resolveRuntimeBinary(FLAVORS.kilo, { resolveFrom: fileURLToPath(new URL('.', import.meta.url)) });
    expect(path).toMatch(/node_modules\/@kilocode\/cli-linux-x64(-baseline)?(-musl)?\/bin\/kilo$/);
  });

  it('orders baseline builds first on CPUs without AVX2', () => {
    expect(platformPackages(FLAVORS.opencode, 'linux', 'x64', false)).toEqual([
      'opencode-linux-x64-baseline',
      'opencode-linux-x64',
      'opencode-linux-x64-baseline-musl',
      'opencode-linux-x64-musl',
    ]);
    expect(platformPackages(FLAVORS.kilo, 'linux', 'arm64', false)).toEqual(['@kilocode/cli-linux-arm64', '@kilocode/cli-linux-arm64-musl']);
  });
});
