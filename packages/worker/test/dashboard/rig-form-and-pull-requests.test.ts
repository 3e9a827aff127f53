/**
 * Dashboard (issue 13): the add-rig form model (what is sent for each auth kind and strategy;
 * secrets of options not chosen stay in the browser), what the rigs list shows of a rig's
 * settings, and a bead's pull request link — only an http(s) URL becomes a link, always with
 * rel=noopener noreferrer (the element spec `pullRequestLink` renders; the worker tests have no DOM).
 */
import type { Rig } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../dashboard/src/api/api-client';
import { panelsFor } from '../../dashboard/src/model/event-routing';
import { summariseEvent } from '../../dashboard/src/model/event-summary';
import { pullRequestElement, pullRequestView, safeHttpUrl } from '../../dashboard/src/model/pull-request';
import { rigRequest, rigSettingsView, visibleRows, type RigFormValues } from '../../dashboard/src/model/rig-form';

const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEkeybody\n-----END RSA PRIVATE KEY-----';
const TOKEN = 'ghp_SecretTokenValue0123456789';
const HOOK = 'webhook-secret-0123456789';

function form(over: Partial<RigFormValues> = {}): RigFormValues {
  return {
    name: ' web ',
    gitUrl: ' https://github.com/acme/web.git ',
    defaultBranch: '',
    authKind: 'none',
    appId: '',
    installationId: '',
    privateKey: '',
    token: '',
    mergeStrategy: 'direct',
    providerKind: '',
    apiBaseUrl: '',
    webhookSecret: '',
    ...over,
  };
}

describe('rigRequest (the add-rig form → CreateRigRequest)', () => {
  it.each([
    {
      name: 'public, direct: no auth, no provider',
      values: form(),
      request: { name: 'web', gitUrl: 'https://github.com/acme/web.git', defaultBranch: 'main', mergeStrategy: 'direct' },
    },
    {
      name: 'GitHub App with pull requests, GHE API and webhook secret',
      values: form({
        authKind: 'github_app',
        appId: ' 123456 ',
        installationId: '7890123',
        privateKey: `\n${PEM}\n`,
        mergeStrategy: 'pull_request',
        providerKind: 'github',
        apiBaseUrl: 'https://ghe.example.com/api/v3/',
        webhookSecret: HOOK,
        token: TOKEN,
      }),
      request: {
        name: 'web',
        gitUrl: 'https://github.com/acme/web.git',
        defaultBranch: 'main',
        auth: { kind: 'github_app', appId: '123456', installationId: '7890123', privateKey: PEM },
        mergeStrategy: 'pull_request',
        provider: { kind: 'github', apiBaseUrl: 'https://ghe.example.com/api/v3', webhookSecret: HOOK },
      },
    },
    {
      name: 'token: the app fields typed before switching are not sent',
      values: form({ authKind: 'token', token: ` ${TOKEN} `, appId: '1', privateKey: PEM, defaultBranch: 'trunk' }),
      request: {
        name: 'web',
        gitUrl: 'https://github.com/acme/web.git',
        defaultBranch: 'trunk',
        auth: { kind: 'token', token: TOKEN },
        mergeStrategy: 'direct',
      },
    },
    {
      name: 'none: a token typed before switching back is not sent',
      values: form({ authKind: 'none', token: TOKEN }),
      request: { name: 'web', gitUrl: 'https://github.com/acme/web.git', defaultBranch: 'main', mergeStrategy: 'direct' },
    },
    {
      name: 'direct: a webhook secret typed before switching back is not sent',
      values: form({ mergeStrategy: 'direct', webhookSecret: HOOK, providerKind: 'gitlab' }),
      request: { name: 'web', gitUrl: 'https://github.com/acme/web.git', defaultBranch: 'main', mergeStrategy: 'direct', provider: { kind: 'gitlab' } },
    },
  ])('$name', ({ values, request }) => {
    expect(rigRequest(values)).toEqual(request);
  });

  it.each([
    { authKind: 'none', strategy: 'direct', rows: [] },
    { authKind: 'github_app', strategy: 'direct', rows: ['appId', 'installationId', 'privateKey'] },
    { authKind: 'token', strategy: 'pull_request', rows: ['token', 'webhookSecret'] },
  ] as const)('rows shown for $authKind / $strategy', ({ authKind, strategy, rows }) => {
    expect([...visibleRows(authKind, strategy)].sort()).toEqual([...rows].sort());
  });
});

describe('rigSettingsView (the rigs list)', () => {
  const base = { provider: { kind: 'github', apiBaseUrl: null, repository: 'acme/web', webhookSecretSet: false } } as const;
  it.each([
    {
      name: 'public, direct',
      rig: { ...base, auth: { kind: 'none', appId: null, installationId: null, fingerprint: null }, mergeStrategy: 'direct' },
      view: { auth: 'no auth', fingerprint: null, strategy: 'direct merge', webhook: null },
    },
    {
      name: 'GitHub App, pull requests, webhook set',
      rig: {
        auth: { kind: 'github_app', appId: '123456', installationId: '789', fingerprint: 'sha256:1a2b3c4d' },
        mergeStrategy: 'pull_request',
        provider: { ...base.provider, webhookSecretSet: true },
      },
      view: {
        auth: 'GitHub App 123456 (installation 789)',
        fingerprint: 'sha256:1a2b3c4d',
        strategy: 'pull requests',
        webhook: { set: true, text: 'webhook secret set' },
      },
    },
    {
      name: 'token, pull requests, no webhook secret',
      rig: { ...base, auth: { kind: 'token', appId: null, installationId: null, fingerprint: 'sha256:99aa88bb' }, mergeStrategy: 'pull_request' },
      view: { auth: 'token', fingerprint: 'sha256:99aa88bb', strategy: 'pull requests', webhook: { set: false, text: 'no webhook secret (the town polls)' } },
    },
    { name: "an older server's rig", rig: {}, view: { auth: 'no auth', fingerprint: null, strategy: 'direct merge', webhook: null } },
  ])('$name', ({ rig, view }) => {
    expect(rigSettingsView(rig as Pick<Rig, 'auth' | 'mergeStrategy' | 'provider'>)).toEqual(view);
  });
});

const SHA = 'b'.repeat(40);
function metadata(url: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { pullRequest: { provider: 'github', number: 12, url, state: 'open', commit: SHA, openedAt: 1, updatedAt: 2, ...over } };
}

describe('pullRequestView / safeHttpUrl', () => {
  it.each([
    { name: 'https', url: 'https://github.com/acme/web/pull/12', href: 'https://github.com/acme/web/pull/12' },
    { name: 'http (the tests’ fake GitHub)', url: 'http://127.0.0.1:4000/acme/web/pull/1', href: 'http://127.0.0.1:4000/acme/web/pull/1' },
    { name: 'javascript:', url: 'javascript:alert(document.cookie)', href: null },
    { name: 'JavaScript: mixed case with spaces', url: ' JavaScript:alert(1)', href: null },
    { name: 'data:', url: 'data:text/html,<script>alert(1)</script>', href: null },
    { name: 'relative', url: '/acme/web/pull/12', href: null },
  ])('$name', ({ url, href }) => {
    expect(safeHttpUrl(url)).toBe(href);
    expect(pullRequestView(metadata(url))).toEqual({ number: 12, state: 'open', href, label: 'PR #12 · open', tone: 'info' });
  });

  it.each([
    { name: 'no pull request', metadata: {} },
    { name: 'not an object', metadata: { pullRequest: 'https://github.com/acme/web/pull/12' } },
    { name: 'unknown state', metadata: metadata('https://x.test/1', { state: 'draft' }) },
    { name: 'bad number', metadata: metadata('https://x.test/1', { number: 0 }) },
  ])('none for $name', ({ metadata: m }) => {
    expect(pullRequestView(m)).toBeNull();
  });

  it('merged and closed have their own tone', () => {
    expect(pullRequestView(metadata('https://x.test/1', { state: 'merged' }))).toMatchObject({ tone: 'ok', label: 'PR #12 · merged' });
    expect(pullRequestView(metadata('https://x.test/1', { state: 'closed' }))).toMatchObject({ tone: 'warn', label: 'PR #12 · closed' });
  });
});

describe('pull request events', () => {
  it('refresh the beads and read as one line', () => {
    expect(panelsFor({ type: 'pull_request.opened' })).toEqual(['beads']);
    expect(panelsFor({ type: 'pull_request.closed' })).toEqual(['beads']);
    const event = { id: 1, townId: 'town_x', type: 'pull_request.closed', agentId: null, beadId: 'bd_x', at: 1, data: { number: 7, url: 'https://x.test/7' } };
    expect(summariseEvent(event as never)).toEqual({ tone: 'warn', text: 'pull request #7 closed without merging' });
  });
});

describe('pullRequestElement (what pullRequestLink renders)', () => {
  it('an https URL: a link in a new tab, rel=noopener noreferrer', () => {
    const el = pullRequestElement(pullRequestView(metadata('https://github.com/acme/web/pull/12'))!);
    expect(el).toEqual({
      tag: 'a',
      attrs: {
        class: 'pr-link badge badge-info',
        href: 'https://github.com/acme/web/pull/12',
        target: '_blank',
        rel: 'noopener noreferrer',
        title: 'https://github.com/acme/web/pull/12',
        data: { prState: 'open' },
      },
    });
  });

  it.each(['javascript:alert(document.cookie)', 'data:text/html,x', 'vbscript:msgbox(1)'])('%s is not rendered as a link (plain text, no href)', (url) => {
    const el = pullRequestElement(pullRequestView(metadata(url))!);
    expect(el.tag).toBe('span');
    expect(el.attrs).not.toHaveProperty('href');
    expect(JSON.stringify(el)).not.toContain(url.split(':')[0] + ':');
  });
});

describe('ApiClient: rig add / update', () => {
  it('POSTs the form request and PATCHes a rig by id; a git_auth_failed answer keeps its code and cause', async () => {
    const seen: { method: string; url: string; body: unknown }[] = [];
    const fetchImpl = async (url: string, init?: RequestInit) => {
      seen.push({ method: init?.method ?? 'GET', url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
      if (init?.method === 'PATCH') return Response.json({ error: { code: 'git_auth_failed', message: 'the token has no write permission' } }, { status: 422 });
      return Response.json({ rig: { id: 'rig_web00001' } });
    };
    const api = new ApiClient('tok', fetchImpl);
    const request = rigRequest(form({ authKind: 'token', token: TOKEN }));
    await api.addRig('town_aaaaaaaa', request);
    const err = await api.updateRig('town_aaaaaaaa', 'rig_web00001', { mergeStrategy: 'pull_request' }).catch((e: unknown) => e);
    expect(seen).toEqual([
      { method: 'POST', url: '/api/towns/town_aaaaaaaa/rigs', body: request },
      { method: 'PATCH', url: '/api/towns/town_aaaaaaaa/rigs/rig_web00001', body: { mergeStrategy: 'pull_request' } },
    ]);
    expect(err).toMatchObject({ code: 'git_auth_failed', status: 422, message: 'the token has no write permission' });
  });
});
