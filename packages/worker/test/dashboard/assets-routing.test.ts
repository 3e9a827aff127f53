/**
 * The dashboard is served as static assets (wrangler.jsonc `assets`, SPA fallback). Requests the
 * asset router sends to the worker first (`run_worker_first`) must cover every API route, or a
 * browser navigating to one would get the dashboard's index.html instead of JSON.
 *
 * In this pool `exports.default.fetch` reaches the worker directly (the asset router is not in
 * front of it), so the router itself is exercised end to end by
 * packages/testkit/e2e/dashboard/dashboard.e2e.test.ts; here: the worker still answers the API,
 * and the config routes every API path to it.
 */
import { exports } from 'cloudflare:workers';
import { AGENT_API, USER_API } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import productionConfigText from '../../wrangler.production.jsonc?raw';
import configText from '../../wrangler.jsonc?raw';

/** JSON with comments → JSON (comments outside strings removed; no trailing commas in our files). */
function parseJsonc(text: string): Record<string, unknown> {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const end = /"(?:[^"\\]|\\.)*"/y;
      end.lastIndex = i;
      const m = end.exec(text);
      if (!m) throw new Error('unterminated string');
      out += m[0];
      i += m[0].length - 1;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (ch === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2) + 1;
    } else {
      out += ch;
    }
  }
  return JSON.parse(out) as Record<string, unknown>;
}

/** `run_worker_first` glob semantics: `*` matches anything (slashes included). */
function matches(pattern: string, path: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(path);
}

interface AssetsConfig {
  directory: string;
  not_found_handling: string;
  run_worker_first: string[];
}

const assets = parseJsonc(configText).assets as AssetsConfig;

/** Route templates as concrete paths (`:townId` / `{townId}` → an id). */
function concrete(template: string): string {
  return template.replace(/:[A-Za-z]+|\{[A-Za-z]+\}/g, 'town_abcdefgh');
}

describe('dashboard assets vs the API', () => {
  it('GET /api/towns without a token is still the API: 401 JSON token_missing', async () => {
    const res = await exports.default.fetch(new Request('http://x/api/towns', { headers: { 'sec-fetch-mode': 'navigate', accept: 'text/html' } }));
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toMatchObject({ error: { code: 'token_missing' } });
  });

  it('GET /openapi.json is still the OpenAPI document', async () => {
    const res = await exports.default.fetch(new Request('http://x/openapi.json', { headers: { 'sec-fetch-mode': 'navigate', accept: 'text/html' } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
  });

  it('the dashboard is an SPA served from dashboard/dist, in dev and in production alike', () => {
    expect(assets.directory).toBe('./dashboard/dist');
    expect(assets.not_found_handling).toBe('single-page-application');
    expect(parseJsonc(productionConfigText).assets).toEqual(assets);
  });

  it('run_worker_first sends every path of the OpenAPI document and of the route tables to the worker', async () => {
    const doc = (await (await exports.default.fetch('http://x/openapi.json')).json()) as { paths: Record<string, unknown> };
    const paths = [...Object.keys(doc.paths), ...Object.values(USER_API), ...Object.values(AGENT_API), '/openapi.json', '/health'].map(concrete);
    expect(paths.length).toBeGreaterThan(20);
    const unrouted = paths.filter((p) => !assets.run_worker_first.some((pattern) => matches(pattern, p)));
    expect(unrouted).toEqual([]);
  });

  it('run_worker_first does not swallow the dashboard pages', () => {
    for (const page of ['/', '/towns/town_abcdefgh', '/index.html', '/app.js']) {
      expect(
        assets.run_worker_first.some((pattern) => matches(pattern, page)),
        page,
      ).toBe(false);
    }
  });
});
