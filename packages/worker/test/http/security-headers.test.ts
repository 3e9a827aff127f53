/**
 * Hardening headers: the worker sets them on every response (API, errors, the OpenAPI document,
 * the SSE stream); the dashboard's files get the same ones from dashboard/static/_headers (the
 * assets layer serves them without running the worker, and this pool has no asset router: the
 * file is checked here, the served page by the dashboard e2e run). The page itself needs no
 * CSP exception: no inline script, style, handler or data: URL.
 */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import headersFile from '../../dashboard/static/_headers?raw';
import indexHtml from '../../dashboard/static/index.html?raw';
import { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from '../../src/http/security-headers';
import { BASE, call, createTown, createUserToken } from '../helpers';

const EXPECTED = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function securityHeadersOf(headers: Headers): Record<string, string | null> {
  return Object.fromEntries(Object.keys(EXPECTED).map((name) => [name, headers.get(name)]));
}

/** `_headers` rules: a path line, then indented `Name: value` lines. */
function parseHeadersFile(text: string): Map<string, Record<string, string>> {
  const rules = new Map<string, Record<string, string>>();
  let current: Record<string, string> | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    if (!/^\s/.test(line)) {
      current = {};
      rules.set(line.trim(), current);
      continue;
    }
    const at = line.indexOf(':');
    if (!current || at < 0) throw new Error(`bad _headers line: ${line}`);
    current[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  return rules;
}

describe('security headers', () => {
  it('the policy forbids inline script and style, plugins, <base>, framing and foreign form targets', () => {
    const directives = Object.fromEntries(
      CONTENT_SECURITY_POLICY.split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );
    expect(directives).toMatchObject({
      'default-src': ["'self'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
      'frame-ancestors': ["'none'"],
      'form-action': ["'self'"],
    });
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-|data:|\*/);
  });

  it.each([
    { name: 'an API route (200)', path: '/api/towns', status: 200, auth: true },
    { name: 'the health route', path: '/health', status: 200, auth: false },
    { name: 'the OpenAPI document', path: '/openapi.json', status: 200, auth: false },
    { name: 'an error from auth (401)', path: '/api/towns', status: 401, auth: false },
    { name: 'an error from the not-found handler (404)', path: '/api/nowhere', status: 404, auth: true },
    { name: 'an error from validation (400)', path: '/api/towns/not-an-id', status: 400, auth: true },
  ])('on $name', async ({ path, status, auth }) => {
    const token = auth ? await createUserToken() : null;
    const res = await call('GET', path, { token });
    expect(res.status).toBe(status);
    expect(securityHeadersOf(res.headers)).toEqual(EXPECTED);
  });

  it('on an error thrown by a handler (a foreign town: 404 from the TownDO)', async () => {
    const res = await call('GET', '/api/towns/town_abcdefgh0000/beads', { token: await createUserToken() });
    expect(res.status).toBe(404);
    expect(securityHeadersOf(res.headers)).toEqual(EXPECTED);
  });

  it('on the event stream', async () => {
    const token = await createUserToken();
    const town = await createTown(token);
    const res = await exports.default.fetch(new Request(`${BASE}/api/towns/${town.id}/events/stream`, { headers: { authorization: `Bearer ${token}` } }));
    expect(res.status).toBe(200);
    expect(securityHeadersOf(res.headers)).toEqual(EXPECTED);
    await res.body?.cancel();
  });

  it('dashboard/static/_headers gives every dashboard path the same headers', () => {
    const rules = parseHeadersFile(headersFile);
    expect([...rules.keys()]).toEqual(['/*']);
    expect(rules.get('/*')).toEqual(Object.fromEntries(Object.entries(SECURITY_HEADERS).map(([k, v]) => [k.toLowerCase(), v])));
  });

  it('the dashboard page needs no CSP exception: one module script, one stylesheet, nothing inline', () => {
    const scripts = [...indexHtml.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.map((m) => ({ attrs: m[1]?.trim(), body: m[2]?.trim() }))).toEqual([{ attrs: 'type="module" src="/app.js"', body: '' }]);
    expect(indexHtml).not.toMatch(/<style\b/i);
    expect(indexHtml).not.toMatch(/\sstyle\s*=/i);
    expect(indexHtml).not.toMatch(/\son[a-z]+\s*=/i);
    expect(indexHtml).not.toMatch(/(?:href|src)\s*=\s*["']?(?:data|javascript):/i);
    const external = [...indexHtml.matchAll(/(?:href|src)\s*=\s*"([^"]+)"/gi)].map((m) => m[1]).filter((url) => !url?.startsWith('/'));
    expect(external).toEqual([]);
  });
});
