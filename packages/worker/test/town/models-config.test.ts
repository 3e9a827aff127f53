/**
 * Issue 14, the town side of models per role: the config PATCH (provider kinds and their defaults,
 * the legacy provider.model, models/prices merges, the spend cap), a town stored before per-role
 * models, and a rig's own polecat/refinery models (each one the town allows).
 */
import { PROVIDER_KIND_INFO, PROVIDER_KINDS, type Rig, type Town } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { addRig, call, createTown, createUserToken, expectError, uniqueName } from '../helpers';
import { withTownSql } from '../support/fake-container';

const NO_ROLE_MODELS = { mayor: null, polecat: null, refinery: null, small: null, allowed: [] };

async function newTown(): Promise<{ token: string; town: Town }> {
  const token = await createUserToken();
  return { token, town: await createTown(token) };
}

function patchConfig(token: string, townId: string, body: unknown) {
  return call('PATCH', `/api/towns/${townId}/config`, { token, body });
}

describe('config PATCH: provider and models', () => {
  const refused: { name: string; body: unknown; names: string }[] = [
    { name: 'an openai-compatible provider without baseUrl', body: { provider: { kind: 'openai-compatible' }, models: { default: 'm' } }, names: 'baseUrl' },
    { name: 'a model id with a space', body: { provider: { kind: 'openai' }, models: { default: 'gpt 4o' } }, names: 'models.default' },
    { name: 'a role model id with a quote', body: { models: { default: 'm', polecat: 'bad"model' } }, names: 'models.polecat' },
    { name: 'a provider without any default model', body: { provider: { kind: 'openai' } }, names: 'models.default' },
    { name: 'role models without a default (none stored)', body: { models: { polecat: 'm' } }, names: 'models.default' },
    { name: 'clearing the default', body: { models: { default: null } }, names: 'models.default' },
    { name: 'an unknown provider kind', body: { provider: { kind: 'azure', baseUrl: 'https://x.test/v1' }, models: { default: 'm' } }, names: 'provider.kind' },
    { name: 'an unknown key in models', body: { models: { default: 'm', writer: 'x' } }, names: 'models' },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}: 400 validation_failed naming ${c.names}, nothing stored`, async () => {
      const { token, town } = await newTown();
      const res = await patchConfig(token, town.id, c.body);
      expectError(res, 400, 'validation_failed');
      expect(res.body.error.message).toContain(c.names);
      const after = (await call('GET', `/api/towns/${town.id}`, { token })).body.town as Town;
      expect(after.config).toMatchObject({ provider: null, models: null });
    });
  }

  for (const kind of PROVIDER_KINDS.filter((k) => PROVIDER_KIND_INFO[k].defaultBaseUrl !== null)) {
    it(`a ${kind} provider gets its kind's base URL and key env var; it is stored without a model`, async () => {
      const { token, town } = await newTown();
      const res = await patchConfig(token, town.id, { provider: { kind }, models: { default: 'some-model' } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const info = PROVIDER_KIND_INFO[kind];
      expect(res.body.town.config.provider).toEqual({ kind, baseUrl: info.defaultBaseUrl, apiKeyEnvVar: info.defaultApiKeyEnvVar });
      expect(res.body.town.config.models).toEqual({ default: 'some-model', ...NO_ROLE_MODELS });
    });
  }

  it('an openai-compatible provider keeps its base URL (no trailing slash) and a null key env var', async () => {
    const { token, town } = await newTown();
    const res = await patchConfig(token, town.id, {
      provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1/', apiKeyEnvVar: null },
      models: { default: 'llama3' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.town.config.provider).toEqual({ kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1', apiKeyEnvVar: null });
  });

  it('a legacy provider.model becomes models.default, unless models.default is in the same patch', async () => {
    const { token, town } = await newTown();
    const legacy = await patchConfig(token, town.id, { provider: { kind: 'openai', model: 'gpt-4o-mini' } });
    expect(legacy.status, JSON.stringify(legacy.body)).toBe(200);
    expect(legacy.body.town.config.provider).toEqual({ kind: 'openai', baseUrl: 'https://api.openai.com/v1', apiKeyEnvVar: 'OPENAI_API_KEY' });
    expect(legacy.body.town.config.models).toEqual({ default: 'gpt-4o-mini', ...NO_ROLE_MODELS });

    const both = await patchConfig(token, town.id, { provider: { kind: 'openai', model: 'gpt-4o-mini' }, models: { default: 'gpt-4.1' } });
    expect(both.body.town.config.models.default).toBe('gpt-4.1');
    // the stored JSON holds no provider.model either
    const stored = await withTownSql(town.id, (sql) => JSON.parse(sql.exec<{ config: string }>('SELECT config FROM town').one().config));
    expect(stored.provider).not.toHaveProperty('model');
  });

  it('models merge: a value sets, null clears, the rest stays; a provider change keeps the models', async () => {
    const { token, town } = await newTown();
    await patchConfig(token, town.id, { provider: { kind: 'anthropic' }, models: { default: 'claude-sonnet-4-5', small: 'claude-haiku-4-5' } });
    const res = await patchConfig(token, town.id, { models: { polecat: 'claude-opus-4-1', allowed: ['claude-3-7-sonnet'] } });
    expect(res.body.town.config.models).toEqual({
      default: 'claude-sonnet-4-5',
      mayor: null,
      polecat: 'claude-opus-4-1',
      refinery: null,
      small: 'claude-haiku-4-5',
      allowed: ['claude-3-7-sonnet'],
    });
    const cleared = await patchConfig(token, town.id, { models: { small: null, mayor: 'claude-opus-4-1' } });
    expect(cleared.body.town.config.models).toMatchObject({ small: null, mayor: 'claude-opus-4-1', polecat: 'claude-opus-4-1' });
    const moved = await patchConfig(token, town.id, { provider: { kind: 'openrouter' } });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body.town.config.models.default).toBe('claude-sonnet-4-5');
    // removing the provider keeps the models for when one comes back
    const removed = await patchConfig(token, town.id, { provider: null });
    expect(removed.body.town.config).toMatchObject({ provider: null, models: { default: 'claude-sonnet-4-5' } });
  });

  it('prices merge (null removes one); the spend cap is stored as given (null removes it)', async () => {
    const { token, town } = await newTown();
    const a = { inputPerMTok: 1, outputPerMTok: 2 };
    const b = { inputPerMTok: 3, outputPerMTok: 4, cacheReadPerMTok: 0.3 };
    const first = await patchConfig(token, town.id, { prices: { 'model-a': a, 'model-b': b }, spendCap: { period: 'day', limitUsd: 5 } });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.town.config).toMatchObject({ prices: { 'model-a': a, 'model-b': b }, spendCap: { period: 'day', limitUsd: 5 } });
    const second = await patchConfig(token, town.id, { prices: { 'model-a': null, 'model-c': a } });
    expect(second.body.town.config.prices).toEqual({ 'model-b': b, 'model-c': a });
    expect(second.body.town.config.spendCap).toEqual({ period: 'day', limitUsd: 5 });
    const third = await patchConfig(token, town.id, { spendCap: null });
    expect(third.body.town.config.spendCap).toBeNull();
    expectError(await patchConfig(token, town.id, { spendCap: { period: 'week', limitUsd: 5 } }), 400, 'validation_failed');
    expectError(await patchConfig(token, town.id, { prices: { 'model-a': { inputPerMTok: -1, outputPerMTok: 1 } } }), 400, 'validation_failed');
  });

  it('a town holds at most 100 price overrides (merged), else 400 naming prices', async () => {
    const { token, town } = await newTown();
    const price = { inputPerMTok: 1, outputPerMTok: 1 };
    const many = (from: number, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`model-${from + i}`, price]));
    expect((await patchConfig(token, town.id, { prices: many(0, 60) })).status).toBe(200);
    const res = await patchConfig(token, town.id, { prices: many(60, 60) });
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.message).toContain('prices');
    expect(Object.keys((await call('GET', `/api/towns/${town.id}`, { token })).body.town.config.prices)).toHaveLength(60);
  });
});

describe('a town stored before per-role models', () => {
  it('reads provider.model as models.default, with no prices and no spend cap', async () => {
    const { token, town } = await newTown();
    // the config JSON as it was written before issue 14
    const old = {
      provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnvVar: 'LLM_API_KEY', model: 'legacy-model' },
      runtime: 'opencode',
      sleepAfterSeconds: 1800,
      agentTokenTtlSeconds: 3600,
    };
    await withTownSql(town.id, (sql) => {
      sql.exec('UPDATE town SET config = ?', JSON.stringify(old));
    });
    const got = (await call('GET', `/api/towns/${town.id}`, { token })).body.town as Town;
    expect(got.config).toMatchObject({
      provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnvVar: 'LLM_API_KEY' },
      models: { default: 'legacy-model', ...NO_ROLE_MODELS },
      prices: {},
      spendCap: null,
    });
    expect(got.config.provider).not.toHaveProperty('model');
    // a later patch of something else stores the new shape
    expect((await patchConfig(token, town.id, { models: { small: 'tiny' } })).status).toBe(200);
    const stored = await withTownSql(town.id, (sql) => JSON.parse(sql.exec<{ config: string }>('SELECT config FROM town').one().config));
    expect(stored).toMatchObject({ models: { default: 'legacy-model', small: 'tiny' }, prices: {}, spendCap: null });
    expect(stored.provider).not.toHaveProperty('model');
  });

  it('an old config without a provider reads with models null', async () => {
    const { token, town } = await newTown();
    const old = { provider: null, runtime: 'kilo', sleepAfterSeconds: 60, agentTokenTtlSeconds: 600 };
    await withTownSql(town.id, (sql) => {
      sql.exec('UPDATE town SET config = ?', JSON.stringify(old));
    });
    const got = (await call('GET', `/api/towns/${town.id}`, { token })).body.town as Town;
    expect(got.config).toMatchObject({ provider: null, runtime: 'kilo', models: null, prices: {}, spendCap: null });
  });
});

describe('rig models', () => {
  async function townWithModels() {
    const { token, town } = await newTown();
    const res = await patchConfig(token, town.id, {
      provider: { kind: 'openrouter' },
      models: { default: 'openai/gpt-4o', refinery: 'anthropic/claude-sonnet-4.5', allowed: ['openai/gpt-4o-mini', 'qwen/qwen3-coder'] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return { token, town };
  }

  function addRigWith(token: string, townId: string, models: unknown) {
    return call('POST', `/api/towns/${townId}/rigs`, { token, body: { name: uniqueName('rig'), gitUrl: 'https://example.com/repo.git', models } });
  }

  it('a rig without models uses the town ones (null, null)', async () => {
    const { token, town } = await townWithModels();
    const rig = await addRig(token, town.id);
    expect(rig.models).toEqual({ polecat: null, refinery: null });
  });

  it('create and update accept models the town allows; they come back in Rig.models and the rig list', async () => {
    const { token, town } = await townWithModels();
    const created = await addRigWith(token, town.id, { polecat: 'qwen/qwen3-coder' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.rig.models).toEqual({ polecat: 'qwen/qwen3-coder', refinery: null });
    const rigId = (created.body.rig as Rig).id;

    const updated = await call('PATCH', `/api/towns/${town.id}/rigs/${rigId}`, { token, body: { models: { refinery: 'openai/gpt-4o-mini' } } });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.rig.models).toEqual({ polecat: 'qwen/qwen3-coder', refinery: 'openai/gpt-4o-mini' });
    const cleared = await call('PATCH', `/api/towns/${town.id}/rigs/${rigId}`, { token, body: { models: { polecat: null } } });
    expect(cleared.body.rig.models).toEqual({ polecat: null, refinery: 'openai/gpt-4o-mini' });
    const listed = (await call('GET', `/api/towns/${town.id}/rigs`, { token })).body.rigs as Rig[];
    expect(listed.find((r) => r.id === rigId)?.models).toEqual({ polecat: null, refinery: 'openai/gpt-4o-mini' });
  });

  it('a model the town does not allow → 403 model_not_allowed naming it and the allowed ones; nothing stored', async () => {
    const { token, town } = await townWithModels();
    const res = await addRigWith(token, town.id, { polecat: 'some/unknown-model' });
    expectError(res, 403, 'model_not_allowed');
    expect(res.body.error.message).toContain('some/unknown-model');
    expect(res.body.error.message).toContain('openai/gpt-4o');
    expect((await call('GET', `/api/towns/${town.id}/rigs`, { token })).body.rigs).toEqual([]);

    const rig = await addRig(token, town.id);
    const patched = await call('PATCH', `/api/towns/${town.id}/rigs/${rig.id}`, { token, body: { models: { refinery: 'some/unknown-model' } } });
    expectError(patched, 403, 'model_not_allowed');
    expect((await call('GET', `/api/towns/${town.id}/rigs`, { token })).body.rigs[0].models).toEqual({ polecat: null, refinery: null });
  });

  it('a town without models allows no rig model (403, the message says to set the town models)', async () => {
    const { token, town } = await newTown();
    const res = await addRigWith(token, town.id, { refinery: 'any-model' });
    expectError(res, 403, 'model_not_allowed');
    expect(res.body.error.message).toContain('models');
  });

  it("a rig's own overrides stay allowed for it after the town drops them", async () => {
    const { token, town } = await townWithModels();
    const created = await addRigWith(token, town.id, { polecat: 'qwen/qwen3-coder' });
    const rigId = created.body.rig.id as string;
    expect((await patchConfig(token, town.id, { models: { allowed: [] } })).status).toBe(200);
    // its own polecat model may also serve its refinery; a model no longer allowed elsewhere may not
    const own = await call('PATCH', `/api/towns/${town.id}/rigs/${rigId}`, {
      token,
      body: { models: { polecat: 'qwen/qwen3-coder', refinery: 'qwen/qwen3-coder' } },
    });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expectError(
      await call('PATCH', `/api/towns/${town.id}/rigs/${rigId}`, { token, body: { models: { refinery: 'openai/gpt-4o-mini' } } }),
      403,
      'model_not_allowed',
    );
    // another rig may not pick up the first rig's override
    expectError(await addRigWith(token, town.id, { polecat: 'qwen/qwen3-coder' }), 403, 'model_not_allowed');
  });

  it('a bad model id → 400 validation_failed naming models', async () => {
    const { token, town } = await townWithModels();
    const res = await addRigWith(token, town.id, { polecat: 'not a model' });
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.message).toContain('models.polecat');
  });
});

describe('OpenAPI: the model fields of config and rig routes', () => {
  it('documents models, prices and spendCap of the config patch, rig models and the model list', async () => {
    const doc = (await call('GET', '/openapi.json')).body;
    const config = doc.paths['/api/towns/{townId}/config'].patch.requestBody.content['application/json'].schema;
    expect(Object.keys(config.properties)).toEqual(expect.arrayContaining(['provider', 'models', 'prices', 'spendCap']));
    const rig = doc.paths['/api/towns/{townId}/rigs'].post;
    expect(Object.keys(rig.requestBody.content['application/json'].schema.properties)).toContain('models');
    expect(rig.responses['403']).toBeDefined();
    expect(doc.paths['/api/towns/{townId}/rigs/{rigId}'].patch.responses['403']).toBeDefined();
    const models = doc.paths['/api/towns/{townId}/models'].get;
    expect(models.security).toEqual([{ userToken: [] }]);
    expect(JSON.stringify(models.responses['200'])).toContain('"provider"');
  });
});
