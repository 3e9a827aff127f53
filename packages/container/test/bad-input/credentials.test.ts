/**
 * Credential confusion at the container: every control-API route × every credential that is not
 * the container key (a broker key, an agent access token, a refresh credential, the provider key)
 * and wrong presentations of the key itself (query string, changed case, trailing junk, sent
 * twice); every broker tool route and the LLM proxy × everything that is not a broker key.
 * Each → 401 with the right code, nothing echoed, no handler ran (nothing changes).
 */
import { CONTAINER_KEY_HEADER, TOOL_NAMES, type ErrorCode } from '@gastown/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINER_KEY, expectHealthy, PROVIDER_KEY, rawHttp, runRefusal, send, startStack, type RefusalCase, type Stack } from './support';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

interface Route {
  method: string;
  path: (st: Stack) => string;
  body?: unknown;
}

const CONTROL_ROUTES: Route[] = [
  { method: 'GET', path: () => '/agents' },
  { method: 'POST', path: () => '/agents', body: {} },
  { method: 'GET', path: (st) => `/agents/${st.mayor.identity.id}` },
  { method: 'POST', path: (st) => `/agents/${st.mayor.identity.id}/messages`, body: { text: 'hi' } },
  { method: 'POST', path: (st) => `/agents/${st.mayor.identity.id}/credentials`, body: {} },
  { method: 'POST', path: (st) => `/agents/${st.polecat.identity.id}/stop`, body: {} },
  { method: 'POST', path: () => '/git/merge', body: {} },
  { method: 'GET', path: () => '/no/such/route' },
];

interface Presentation {
  name: string;
  headers: (st: Stack) => Record<string, string>;
  query?: (st: Stack) => string;
}

const CONTROL_PRESENTATIONS: Presentation[] = [
  { name: 'a broker key as the container key', headers: (st) => ({ [CONTAINER_KEY_HEADER]: st.mayor.brokerKey }) },
  { name: 'an agent access token as the container key', headers: (st) => ({ [CONTAINER_KEY_HEADER]: st.mayor.credentials.accessToken }) },
  { name: 'a refresh credential as the container key', headers: (st) => ({ [CONTAINER_KEY_HEADER]: st.mayor.credentials.refreshCredential }) },
  { name: 'the provider key as the container key', headers: () => ({ [CONTAINER_KEY_HEADER]: PROVIDER_KEY }) },
  { name: 'the container key in the query string', headers: () => ({}), query: () => `key=${CONTAINER_KEY}` },
  { name: 'the container key upper-cased', headers: () => ({ [CONTAINER_KEY_HEADER]: CONTAINER_KEY.toUpperCase() }) },
  { name: 'the container key with trailing junk', headers: () => ({ [CONTAINER_KEY_HEADER]: `${CONTAINER_KEY}x` }) },
];

function withQuery(path: string, query?: string): string {
  return query ? `${path}?${query}` : path;
}

const CONTROL_CASES: RefusalCase[] = [
  ...CONTROL_ROUTES.flatMap((r) =>
    CONTROL_PRESENTATIONS.map((p): RefusalCase => ({
      name: `${r.method} ${r.path({ mayor: { identity: { id: ':id' } }, polecat: { identity: { id: ':id' } } } as Stack)} with ${p.name}`,
      code: 'container_unauthorized',
      send: (st) =>
        send(r.method, `${st.container.url}${withQuery(r.path(st), p.query?.(st))}`, {
          headers: p.headers(st),
          ...(r.body === undefined ? {} : { json: r.body }),
        }),
    })),
  ),
  ...CONTROL_ROUTES.map((r): RefusalCase => ({
    name: `${r.method} ${r.path({ mayor: { identity: { id: ':id' } }, polecat: { identity: { id: ':id' } } } as Stack)} with the container key sent twice`,
    code: 'container_unauthorized',
    send: (st) =>
      rawHttp(
        st.container.url,
        `${r.method} ${r.path(st)} HTTP/1.1\n${CONTAINER_KEY_HEADER}: ${CONTAINER_KEY}\n${CONTAINER_KEY_HEADER}: ${CONTAINER_KEY}\ncontent-type: application/json\ncontent-length: 2`,
        '{}',
      ),
  })),
];

const BROKER_PRESENTATIONS: Array<Presentation & { code: ErrorCode }> = [
  { name: 'the container key as a bearer', code: 'broker_unauthorized', headers: () => ({ authorization: `Bearer ${CONTAINER_KEY}` }) },
  { name: "the agent's own access token", code: 'broker_unauthorized', headers: (st) => ({ authorization: `Bearer ${st.polecat.credentials.accessToken}` }) },
  {
    name: "the agent's own refresh credential",
    code: 'broker_unauthorized',
    headers: (st) => ({ authorization: `Bearer ${st.polecat.credentials.refreshCredential}` }),
  },
  { name: 'the provider key', code: 'broker_unauthorized', headers: () => ({ authorization: `Bearer ${PROVIDER_KEY}` }) },
  { name: 'the broker key in the container-key header', code: 'broker_unauthorized', headers: (st) => ({ [CONTAINER_KEY_HEADER]: st.polecat.brokerKey }) },
  { name: 'the broker key with the Basic scheme', code: 'broker_unauthorized', headers: (st) => ({ authorization: `Basic ${st.polecat.brokerKey}` }) },
  { name: 'the broker key in the query string', code: 'broker_unauthorized', headers: () => ({}), query: (st) => `key=${st.polecat.brokerKey}` },
];

const BROKER_TARGETS: Route[] = [
  ...TOOL_NAMES.map((tool): Route => ({ method: 'POST', path: () => `/broker/tools/${tool}`, body: {} })),
  { method: 'POST', path: () => '/broker/llm/v1/chat/completions', body: { model: 'm', messages: [] } },
  { method: 'GET', path: () => '/broker/llm/v1/models' },
];

const BROKER_CASES: RefusalCase[] = BROKER_TARGETS.flatMap((r) =>
  BROKER_PRESENTATIONS.map((p): RefusalCase => ({
    name: `${r.method} ${r.path(s)} with ${p.name}`,
    code: p.code,
    send: (st) =>
      send(r.method, `${st.container.brokerUrl}${withQuery(r.path(st), p.query?.(st))}`, {
        headers: p.headers(st),
        ...(r.body === undefined ? {} : { json: r.body }),
      }),
  })),
);

describe('container control API and broker API × the wrong credential', () => {
  it.each([...CONTROL_CASES, ...BROKER_CASES])('$name → $code, nothing changes', async (c) => {
    await runRefusal(s, c);
  });

  it('afterwards the container is healthy, the key opens the control API and the broker key the broker', async () => {
    await expectHealthy(s);
    expect((await send('GET', `${s.container.url}/agents`, { headers: { [CONTAINER_KEY_HEADER]: CONTAINER_KEY } })).status).toBe(200);
    const before = s.provider.seen.length;
    const models = await send('GET', `${s.container.brokerUrl}/broker/llm/v1/models`, { headers: { authorization: `Bearer ${s.polecat.brokerKey}` } });
    expect(models.status).toBe(200);
    const seen = s.provider.seen.slice(before);
    expect(seen.map((r) => [r.url, r.headers.authorization])).toEqual([['/v1/models', `Bearer ${PROVIDER_KEY}`]]);
  });
});
