/**
 * Issue 14: `GET /api/towns/:townId/models` — the TownDO asks its provider (`{baseUrl}/models`, the
 * key from the town env var sent the kind's way) through the injected fetch; any failure answers
 * `{source: 'none', models: []}`, never an error, never the key.
 */
import { env } from 'cloudflare:test';
import { ModelListResponseSchema, PROVIDER_KIND_INFO, type ProviderKind } from '@gastown/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FetchFn } from '../../src/git-host';
import { call, createTown, createUserToken, expectError } from '../helpers';
import { installTownSeams } from '../support/town-seams';

const KEY = 'sk-model-list-secret-0123456789';

interface Seen {
  url: string;
  headers: Record<string, string>;
  hasSignal: boolean;
}

function fakeProvider(answer: (url: string) => Response | Promise<Response>): { fetch: FetchFn; seen: Seen[] } {
  const seen: Seen[] = [];
  const fetch: FetchFn = async (input, init) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    seen.push({ url: input, headers, hasSignal: init?.signal instanceof AbortSignal });
    return answer(input);
  };
  return { fetch, seen };
}

const LISTING = { data: [{ id: 'model-a', display_name: 'Model A' }, { id: 'model-b', name: 'Model B' }, { id: 'model-c' }, { nope: 1 }, 'junk'] };
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

async function townWith(provider: Record<string, unknown> | null, envVars: Record<string, string> = {}) {
  const token = await createUserToken();
  const town = await createTown(token);
  if (provider) {
    const res = await call('PATCH', `/api/towns/${town.id}/config`, { token, body: { provider, models: { default: 'model-a' }, envVars } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  return { token, town };
}

function install(townId: string, fetch: FetchFn): void {
  installTownSeams(env.TOWN.idFromName(townId).toString(), { fetch });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('GET /api/towns/:townId/models', () => {
  const kinds: { kind: ProviderKind; provider: Record<string, unknown>; url: string; auth: Record<string, string> }[] = [
    {
      kind: 'openai-compatible',
      provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnvVar: 'LLM_API_KEY' },
      url: 'http://127.0.0.1:9/v1/models',
      auth: { authorization: `Bearer ${KEY}` },
    },
    { kind: 'openai', provider: { kind: 'openai' }, url: 'https://api.openai.com/v1/models', auth: { authorization: `Bearer ${KEY}` } },
    { kind: 'openrouter', provider: { kind: 'openrouter' }, url: 'https://openrouter.ai/api/v1/models', auth: { authorization: `Bearer ${KEY}` } },
    { kind: 'kilo', provider: { kind: 'kilo' }, url: 'https://api.kilo.ai/api/openrouter/models', auth: { authorization: `Bearer ${KEY}` } },
    {
      kind: 'anthropic',
      provider: { kind: 'anthropic' },
      url: 'https://api.anthropic.com/v1/models',
      auth: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
    },
  ];
  for (const c of kinds) {
    it(`${c.kind}: GET {baseUrl}/models with the key sent the kind's way; the listing comes back as {id, name}`, async () => {
      const envVar = (c.provider.apiKeyEnvVar as string | undefined) ?? PROVIDER_KIND_INFO[c.kind].defaultApiKeyEnvVar!;
      const { token, town } = await townWith(c.provider, { [envVar]: KEY });
      const upstream = fakeProvider(() => json(LISTING));
      install(town.id, upstream.fetch);
      const res = await call('GET', `/api/towns/${town.id}/models`, { token });
      expect(res.status).toBe(200);
      expect(ModelListResponseSchema.parse(res.body)).toEqual({
        source: 'provider',
        models: [
          { id: 'model-a', name: 'Model A' },
          { id: 'model-b', name: 'Model B' },
          { id: 'model-c', name: null },
        ],
      });
      expect(upstream.seen).toHaveLength(1);
      expect(upstream.seen[0]!.url).toBe(c.url);
      expect(upstream.seen[0]!.headers).toMatchObject(c.auth);
      expect(upstream.seen[0]!.hasSignal).toBe(true);
      if (c.kind === 'anthropic') expect(upstream.seen[0]!.headers).not.toHaveProperty('authorization');
      else expect(upstream.seen[0]!.headers).not.toHaveProperty('x-api-key');
    });
  }

  it('a provider whose key env var is not set: asked without a key', async () => {
    const { token, town } = await townWith({ kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnvVar: 'MISSING_KEY' });
    const upstream = fakeProvider(() => json({ data: [{ id: 'local' }] }));
    install(town.id, upstream.fetch);
    const res = await call('GET', `/api/towns/${town.id}/models`, { token });
    expect(res.body).toEqual({ source: 'provider', models: [{ id: 'local', name: null }] });
    expect(upstream.seen[0]!.headers).not.toHaveProperty('authorization');
  });

  const failures: { name: string; answer: () => Response | Promise<Response> }[] = [
    { name: 'unreachable', answer: () => Promise.reject(new TypeError('connect ECONNREFUSED')) },
    { name: 'timed out', answer: () => Promise.reject(new DOMException('The operation timed out.', 'TimeoutError')) },
    { name: '401 with a body echoing the key', answer: () => json({ error: { message: `bad key ${KEY}` } }, 401) },
    { name: '500', answer: () => new Response('upstream exploded', { status: 500 }) },
    { name: 'not JSON', answer: () => new Response('<html>hi</html>', { status: 200 }) },
    { name: 'JSON of another shape', answer: () => json({ models: ['a', 'b'] }) },
  ];
  for (const c of failures) {
    it(`a provider that answers ${c.name} → 200 {source: 'none', models: []}, no key in the answer`, async () => {
      const { token, town } = await townWith({ kind: 'openai' }, { OPENAI_API_KEY: KEY });
      const upstream = fakeProvider(c.answer);
      install(town.id, upstream.fetch);
      const warn = vi.spyOn(console, 'warn');
      const res = await call('GET', `/api/towns/${town.id}/models`, { token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ source: 'none', models: [] });
      expect(upstream.seen).toHaveLength(1);
      expect(JSON.stringify(res.body)).not.toContain(KEY);
      // logged once, by kind and reason: never the key, never the upstream body
      const logged = JSON.stringify(warn.mock.calls);
      expect(logged).toContain('provider model list unavailable');
      expect(logged).not.toContain(KEY);
      expect(logged).not.toContain('exploded');
    });
  }

  it('no provider → {source: none} without asking anyone', async () => {
    const { token, town } = await townWith(null);
    const upstream = fakeProvider(() => json(LISTING));
    install(town.id, upstream.fetch);
    const res = await call('GET', `/api/towns/${town.id}/models`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ source: 'none', models: [] });
    expect(upstream.seen).toEqual([]);
  });

  it("another user's town → 404 not_found; no token → 401; the provider is not asked", async () => {
    const { town } = await townWith({ kind: 'openai' }, { OPENAI_API_KEY: KEY });
    const upstream = fakeProvider(() => json(LISTING));
    install(town.id, upstream.fetch);
    expectError(await call('GET', `/api/towns/${town.id}/models`, { token: await createUserToken() }), 404, 'not_found');
    expect((await call('GET', `/api/towns/${town.id}/models`)).status).toBe(401);
    expect(upstream.seen).toEqual([]);
  });
});
