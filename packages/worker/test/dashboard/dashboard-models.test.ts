import { USER_API, type Agent, type CredentialStatus, type TownConfig, type TownEvent } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { errorFromBody, fieldErrors } from '../../dashboard/src/api/api-error';
import { pathFor, ROUTES } from '../../dashboard/src/api/routes';
import { ChatModel } from '../../dashboard/src/model/chat-model';
import { configPatch, providerFormValues, townModels } from '../../dashboard/src/model/config-patch';
import { credentialView } from '../../dashboard/src/model/credential-view';
import { panelsFor } from '../../dashboard/src/model/event-routing';
import { formatAgo, formatCountdown, formatDuration } from '../../dashboard/src/model/format';
import { Session, summariseToken, TOKEN_STORAGE_KEY } from '../../dashboard/src/model/session';

const NOW = 1_800_000_000_000;

function reported(over: Partial<CredentialStatus> = {}): CredentialStatus {
  return {
    accessTokenExpiresAt: NOW + 600_000,
    tokenFingerprint: 'abcd1234',
    nextRefreshAt: NOW + 300_000,
    lastRefreshAt: NOW - 10_000,
    lastRefreshSource: 'pull',
    refreshCount: 4,
    consecutiveFailures: 0,
    unauthorizedCount: 0,
    lastError: null,
    state: 'valid',
    ...over,
  };
}

function agent(credential: Partial<Agent['credential']> = {}, status: Agent['status'] = 'working'): Pick<Agent, 'credential' | 'status'> {
  return {
    status,
    credential: {
      gen: 2,
      tokenIssuedAt: NOW - 60_000,
      tokenExpiresAt: NOW + 3_540_000,
      lastRefreshAt: NOW - 60_000,
      refreshCount: 3,
      reported: reported(),
      reportedAt: NOW - 2_000,
      state: 'healthy',
      ...credential,
    },
  };
}

describe('credentialView', () => {
  it.each([
    { name: 'healthy', input: agent(), severity: 'ok', problems: [] },
    {
      name: 'control plane says expired',
      input: agent({ state: 'expired', reported: reported({ accessTokenExpiresAt: NOW - 1 }) }),
      severity: 'bad',
      problems: ['token expired'],
    },
    {
      name: 'broker holds an expired token',
      input: agent({ reported: reported({ accessTokenExpiresAt: NOW - 5_000, state: 'expired' }) }),
      severity: 'bad',
      problems: ['token expired'],
    },
    { name: 'revoked', input: agent({ state: 'revoked' }, 'waiting'), severity: 'bad', problems: ['credentials revoked'] },
    {
      name: 'degraded with failures',
      input: agent({ state: 'degraded', reported: reported({ state: 'degraded', consecutiveFailures: 3 }) }),
      severity: 'warn',
      problems: ['refreshes failing (degraded)', '3 consecutive refresh failures'],
    },
    { name: '401s seen', input: agent({ reported: reported({ unauthorizedCount: 1 }) }), severity: 'warn', problems: ['1 401 response seen'] },
    { name: 'expiring', input: agent({ state: 'expiring' }), severity: 'warn', problems: ['token past 75% of its life without a refresh'] },
    {
      name: 'never issued',
      input: agent({ state: 'none', tokenIssuedAt: null, tokenExpiresAt: null, reported: null }, 'idle'),
      severity: 'none',
      problems: [],
    },
    {
      name: 'an exited agent is never flagged',
      input: agent({ state: 'expired', reported: reported({ accessTokenExpiresAt: NOW - 1 }) }, 'exited'),
      severity: 'none',
      problems: [],
    },
  ])('$name → $severity', ({ input, severity, problems }) => {
    const view = credentialView(input, NOW);
    expect(view.severity).toBe(severity);
    expect(view.problems).toEqual(problems);
  });

  it("prefers the broker's expiry and its newer refresh; falls back to the control plane's", () => {
    const fromBroker = credentialView(agent(), NOW);
    expect(fromBroker).toMatchObject({
      expiresAt: NOW + 600_000,
      expiresSource: 'broker',
      lastRefreshAt: NOW - 10_000,
      lastRefreshSource: 'pull',
      brokerRefreshCount: 4,
      refreshCount: 3,
    });
    const noReport = credentialView(agent({ reported: null }), NOW);
    expect(noReport).toMatchObject({
      expiresAt: NOW + 3_540_000,
      expiresSource: 'control-plane',
      lastRefreshAt: NOW - 60_000,
      lastRefreshSource: 'control-plane',
      brokerRefreshCount: null,
    });
  });
});

function ev(id: number, type: string, agentId: string | null, data: Record<string, unknown> = {}, at = id): TownEvent {
  return { id, townId: 'town_abcdefgh', type, agentId, beadId: null, data, at };
}

describe('ChatModel', () => {
  it("builds the conversation from the user's messages and the mayor's events only; tool calls update in place", () => {
    const chat = new ChatModel();
    chat.setMayor('ag_mayor01');
    chat.addUserMessages([{ id: 'mm_1', townId: 'town_abcdefgh', text: 'hello', createdAt: 10, deliveredAt: 11 }]);
    expect(chat.applyEvent(ev(20, 'session.busy', 'ag_mayor01'))).toBe(true);
    expect(chat.busy).toBe(true);
    chat.applyEvent(ev(21, 'agent.tool', 'ag_mayor01', { callId: 'c1', tool: 'gt_sling', state: 'running', input: '{"title":"x"}', output: null }));
    chat.applyEvent(ev(22, 'agent.tool', 'ag_mayor01', { callId: 'c1', tool: 'gt_sling', state: 'completed', input: null, output: '{"bead":{}}' }));
    expect(chat.applyEvent(ev(23, 'agent.text', 'ag_polecat1', { text: 'not the mayor' }))).toBe(false);
    chat.applyEvent(ev(24, 'agent.text', 'ag_mayor01', { text: 'Slung it.' }));
    chat.applyEvent(ev(25, 'session.idle', 'ag_mayor01'));
    expect(chat.busy).toBe(false);
    expect(
      chat.entries().map((e) => [e.kind, e.kind === 'tool' ? `${e.tool}:${e.state}:${e.input}` : e.kind === 'user' || e.kind === 'text' ? e.text : '']),
    ).toEqual([
      ['user', 'hello'],
      ['tool', 'gt_sling:completed:{"title":"x"}'],
      ['text', 'Slung it.'],
    ]);
  });

  it('marks a message whose delivery failed', () => {
    const chat = new ChatModel();
    chat.setMayor('ag_mayor01');
    chat.addUserMessages([{ id: 'mm_2', townId: 'town_abcdefgh', text: 'hi', createdAt: 10, deliveredAt: null }]);
    chat.applyEvent(ev(30, 'mayor.delivery_failed', 'ag_mayor01', { messageId: 'mm_2', code: 'upstream_failed' }));
    const [user, error] = chat.entries();
    expect(user).toMatchObject({ kind: 'user', failed: true, delivered: false });
    expect(error).toMatchObject({ kind: 'error', text: 'message not delivered (upstream_failed)' });
  });
});

describe('panelsFor (event → panels to refetch)', () => {
  it.each([
    ['credential.refreshed', ['agents']],
    ['credential.state_changed', ['agents']],
    ['credential_reuse_detected', ['agents']],
    ['agent.status_changed', ['agents']],
    ['session.busy', ['agents']],
    ['agent.completed', ['agents', 'beads']],
    ['agent.text', []],
    ['agent.tool', []],
    ['bead.created', ['beads']],
    ['merge_request.merged', ['beads']],
    ['escalation.created', ['beads']],
    ['mail.sent', ['mail']],
    ['rig.added', ['rigs']],
    ['town.config_updated', ['town']],
    ['mayor.message_received', ['mayorMessages', 'agents']],
    ['model.usage', ['usage']],
    ['spend.capped', ['usage']],
    ['something.new', []],
  ])('%s → %j', (type, panels) => {
    expect(panelsFor({ type })).toEqual(panels);
  });
});

describe('API errors and validation messages', () => {
  it('keeps the server code and message; a body that is not ours is bad_response', () => {
    expect(errorFromBody(502, { error: { code: 'upstream_failed', message: 'container answered 500' } })).toMatchObject({
      code: 'upstream_failed',
      status: 502,
      message: 'container answered 500',
    });
    expect(errorFromBody(500, '<html>')).toMatchObject({ code: 'bad_response', status: 500 });
  });

  it('splits a validation_failed message by field', () => {
    const fields = fieldErrors(
      'body.provider.baseUrl: Invalid URL; body.agentTokenTtlSeconds: Too small: expected number to be >=2; body: Unrecognized key: "x"',
    );
    expect([...fields]).toEqual([
      ['provider.baseUrl', 'Invalid URL'],
      ['agentTokenTtlSeconds', 'Too small: expected number to be >=2'],
      ['(body)', 'Unrecognized key: "x"'],
    ]);
  });
});

describe('configPatch (settings form → PATCH body)', () => {
  const current: TownConfig = {
    provider: null,
    runtime: 'opencode',
    envVarNames: ['A'],
    sleepAfterSeconds: 1800,
    agentTokenTtlSeconds: 3600,
    models: null,
    prices: {},
    spendCap: null,
    maxPolecats: null,
    instructions: { mayor: null, polecat: null, refinery: null },
  };
  const noModels = { default: '', mayor: '', polecat: '', refinery: '', small: '' };
  const form = {
    providerKind: '',
    baseUrl: '',
    apiKeyEnvVar: '',
    models: noModels,
    allowedModels: '',
    spendCapLimit: '',
    spendCapPeriod: 'day',
    runtime: 'opencode',
    sleepAfter: '1800',
    tokenTtl: '3600',
  };

  it('sends only what changed; bad numbers go to the server as typed so its validation message shows', () => {
    expect(configPatch(current, form)).toEqual({});
    expect(configPatch(current, { ...form, tokenTtl: '20', runtime: 'kilo' })).toEqual({ agentTokenTtlSeconds: 20, runtime: 'kilo' });
    expect(configPatch(current, { ...form, sleepAfter: 'soon' })).toEqual({ sleepAfterSeconds: 'soon' });
    // the model is now the town's default model (models.default), no longer part of the provider
    expect(
      configPatch(current, { ...form, providerKind: 'openai-compatible', baseUrl: ' http://x/v1 ', models: { ...noModels, default: 'm' }, apiKeyEnvVar: '' }),
    ).toEqual({
      provider: { kind: 'openai-compatible', baseUrl: 'http://x/v1', apiKeyEnvVar: null },
      models: { default: 'm' },
    });
    const withProvider: TownConfig = { ...current, provider: { kind: 'openai-compatible', baseUrl: 'http://x/v1', model: 'm', apiKeyEnvVar: null } };
    expect(configPatch(withProvider, form)).toEqual({ provider: null });
  });

  const anthropic: TownConfig = {
    ...current,
    provider: { kind: 'anthropic', baseUrl: 'https://api.anthropic.com/v1', apiKeyEnvVar: 'ANTHROPIC_API_KEY' },
    models: { default: 'claude-sonnet-4-5', mayor: null, polecat: 'claude-haiku-4-5', refinery: null, small: null, allowed: [] },
    spendCap: { period: 'day', limitUsd: 5 },
  };
  const shown = {
    ...form,
    ...providerFormValues(anthropic.provider),
    models: { ...noModels, default: 'claude-sonnet-4-5', polecat: 'claude-haiku-4-5' },
    spendCapLimit: '5',
  };

  it.each([
    { name: 'the stored config shown unchanged: nothing to send', change: {}, patch: {} },
    {
      name: 'a kind with defaults: its base URL and key var',
      change: { providerKind: 'openai' },
      patch: { provider: { kind: 'openai', baseUrl: 'https://api.openai.com/v1', apiKeyEnvVar: 'OPENAI_API_KEY' } },
    },
    {
      name: 'openai-compatible without a base URL: left out, for the server to name',
      change: { providerKind: 'openai-compatible' },
      patch: { provider: { kind: 'openai-compatible', apiKeyEnvVar: null } },
    },
    {
      name: 'a role set, a role back to the default, allowed models',
      change: { models: { ...noModels, default: 'claude-sonnet-4-5', mayor: 'claude-opus-4-5' }, allowedModels: 'gpt-5, o3, gpt-5' },
      patch: { models: { mayor: 'claude-opus-4-5', polecat: null, allowed: ['gpt-5', 'o3'] } },
    },
    { name: 'an empty default is never sent as a clear', change: { models: { ...shown.models, default: '' } }, patch: {} },
    {
      name: 'the cap raised and per month',
      change: { spendCapLimit: '$12.50', spendCapPeriod: 'month' },
      patch: { spendCap: { period: 'month', limitUsd: 12.5 } },
    },
    { name: 'the cap removed', change: { spendCapLimit: ' ' }, patch: { spendCap: null } },
    { name: 'a cap that is not a number goes as typed', change: { spendCapLimit: 'lots' }, patch: { spendCap: { period: 'day', limitUsd: 'lots' } } },
  ])('$name', ({ change, patch }) => {
    expect(configPatch(anthropic, { ...shown, ...change })).toEqual(patch);
  });

  it('a stored provider shows empty fields where it uses the kind defaults; a legacy provider.model is the default model', () => {
    expect(providerFormValues(anthropic.provider)).toEqual({ providerKind: 'anthropic', baseUrl: '', apiKeyEnvVar: '' });
    expect(providerFormValues({ kind: 'openai-compatible', baseUrl: 'http://llm/v1', apiKeyEnvVar: 'LLM_KEY' })).toEqual({
      providerKind: 'openai-compatible',
      baseUrl: 'http://llm/v1',
      apiKeyEnvVar: 'LLM_KEY',
    });
    const legacy: TownConfig = { ...current, provider: { kind: 'openai-compatible', baseUrl: 'http://x/v1', model: 'old', apiKeyEnvVar: null } };
    expect(townModels(legacy)).toMatchObject({ default: 'old', polecat: null });
    expect(configPatch(legacy, { ...form, ...providerFormValues(legacy.provider), models: { ...noModels, default: 'old' } })).toEqual({});
  });
});

describe('dashboard routes and helpers', () => {
  it('calls exactly the user API routes of the protocol', () => {
    for (const [name, path] of Object.entries(ROUTES)) expect(USER_API[name as keyof typeof USER_API], name).toBe(path);
    expect(pathFor('reissueCredentials', { townId: 'town_abcdefgh', agentId: 'ag_12345678' })).toBe(
      '/api/towns/town_abcdefgh/agents/ag_12345678/credentials/reissue',
    );
  });

  it('reads the subject and expiry of a token for display, and survives garbage', () => {
    const payload = btoa(JSON.stringify({ sub: 'alice@example.com', exp: 1_900_000_000 }))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
    expect(summariseToken(`eyJhbGciOiJIUzI1NiJ9.${payload}.sig`)).toEqual({ userId: 'alice@example.com', expiresAt: 1_900_000_000_000 });
    expect(summariseToken('not-a-jwt')).toEqual({ userId: null, expiresAt: null });
    expect(summariseToken('a.%%%.c')).toEqual({ userId: null, expiresAt: null });
  });

  it('formats durations, countdowns and ages', () => {
    expect(formatDuration(3_725_000)).toBe('1h 02m');
    expect(formatDuration(249_000)).toBe('4m 09s');
    expect(formatCountdown(NOW + 12_000, NOW)).toBe('in 12s');
    expect(formatCountdown(NOW - 65_000, NOW)).toBe('expired 1m 05s ago');
    expect(formatAgo(NOW - 2_000, NOW)).toBe('just now');
    expect(formatAgo(NOW - 7_200_000, NOW)).toBe('2h ago');
  });
});

describe('Session', () => {
  it('keeps the trimmed token under one key and forgets it on sign-out', () => {
    const store = new Map<string, string>();
    const session = new Session({ getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v), removeItem: (k) => void store.delete(k) });
    expect(session.token()).toBe(null);
    session.signIn('  eyJ.token.sig \n');
    expect(store.get(TOKEN_STORAGE_KEY)).toBe('eyJ.token.sig');
    expect(session.token()).toBe('eyJ.token.sig');
    session.signOut();
    expect(store.size).toBe(0);
    store.set(TOKEN_STORAGE_KEY, '   ');
    expect(session.token()).toBe(null);
  });
});
