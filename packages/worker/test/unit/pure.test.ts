import type { Bead, CredentialStatus } from '@gastown/protocol';
import { describe, expect, it } from 'vitest';
import { formatZodError } from '../../src/http/errors';
import { beadAfterCompletion, MAX_BEAD_ATTEMPTS } from '../../src/town/bead-rules';
import { computeCredentialHealth } from '../../src/town/credential-health';
import type { AgentRecord } from '../../src/town/repositories/agent-repository';
import { statusFromHeartbeat } from '../../src/town/services/lifecycle-service';
import { effectiveTokenTtlSeconds, defaultTownConfig } from '../../src/town/services/town-service';

const T = 1_800_000_000_000;
const HOUR = 3_600_000;

function agent(overrides: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id: 'ag_test0001',
    rigId: 'rig_test0001',
    role: 'polecat',
    name: 'p',
    status: 'working',
    beadId: null,
    statusLine: null,
    gen: 1,
    createdAt: T,
    updatedAt: T,
    lastHeartbeatAt: null,
    containerInstanceId: null,
    runtimeState: null,
    sessionId: null,
    tokenJti: 'jti-00000001',
    tokenIssuedAt: T,
    tokenExpiresAt: T + HOUR,
    lastRefreshAt: null,
    refreshCount: 0,
    credentialReported: null,
    credentialReportedAt: null,
    dispatchedAt: null,
    isolation: null,
    ...overrides,
  };
}

const reported = (o: Partial<CredentialStatus>): CredentialStatus => ({
  accessTokenExpiresAt: T + HOUR,
  tokenFingerprint: '00000000',
  nextRefreshAt: null,
  lastRefreshAt: null,
  lastRefreshSource: null,
  refreshCount: 0,
  consecutiveFailures: 0,
  unauthorizedCount: 0,
  lastError: null,
  state: 'valid',
  ...o,
});

describe('computeCredentialHealth', () => {
  const cases: { name: string; agent: AgentRecord; now: number; state: string }[] = [
    { name: 'never issued', agent: agent({ tokenIssuedAt: null, tokenExpiresAt: null, tokenJti: null, gen: 0 }), now: T, state: 'none' },
    { name: 'fresh', agent: agent(), now: T + 10 * 60_000, state: 'healthy' },
    { name: 'exactly 75 % used', agent: agent(), now: T + 0.75 * HOUR, state: 'healthy' },
    { name: 'more than 75 % used', agent: agent(), now: T + 0.75 * HOUR + 1, state: 'expiring' },
    { name: 'at expiry', agent: agent(), now: T + HOUR, state: 'expired' },
    {
      name: 'broker reports failing refreshes',
      agent: agent({ credentialReported: reported({ consecutiveFailures: 1 }) }),
      now: T + 60_000,
      state: 'degraded',
    },
    { name: 'broker reports degraded', agent: agent({ credentialReported: reported({ state: 'degraded' }) }), now: T + 60_000, state: 'degraded' },
    { name: 'expired beats degraded', agent: agent({ credentialReported: reported({ consecutiveFailures: 3 }) }), now: T + 2 * HOUR, state: 'expired' },
    { name: 'stopped beats everything', agent: agent({ status: 'stopped' }), now: T + 2 * HOUR, state: 'revoked' },
    { name: 'a run that ended (exited) holds no usable credentials', agent: agent({ status: 'exited' }), now: T + 60_000, state: 'revoked' },
    { name: 'a run that failed holds no usable credentials', agent: agent({ status: 'failed' }), now: T + 60_000, state: 'revoked' },
  ];
  it.each(cases)('$name → $state', ({ agent: a, now, state }) => {
    const health = computeCredentialHealth(a, now);
    expect(health.state).toBe(state);
    expect(health).toMatchObject({ gen: a.gen, tokenIssuedAt: a.tokenIssuedAt, tokenExpiresAt: a.tokenExpiresAt, refreshCount: a.refreshCount });
  });
});

describe('beadAfterCompletion', () => {
  const bead = (o: Partial<Bead>): Bead => ({
    id: 'bd_test0001',
    townId: 'town_test0001',
    rigId: null,
    type: 'issue',
    status: 'in_progress',
    title: 't',
    body: '',
    assigneeId: 'ag_test0001',
    metadata: {},
    attempts: 0,
    createdAt: T,
    updatedAt: T,
    priority: 2,
    labels: [],
    dependsOn: [],
    ...o,
  });
  const cases = [
    { name: 'completed after done', bead: bead({ status: 'in_review' }), outcome: 'completed', next: null },
    { name: 'completed without done', bead: bead({}), outcome: 'completed', next: { status: 'open', attempts: 1, assigneeId: null } },
    { name: 'failed, first attempt', bead: bead({}), outcome: 'failed', next: { status: 'open', attempts: 1, assigneeId: null } },
    {
      name: 'failed at the cap',
      bead: bead({ attempts: MAX_BEAD_ATTEMPTS - 1 }),
      outcome: 'failed',
      next: { status: 'failed', attempts: MAX_BEAD_ATTEMPTS, assigneeId: null },
    },
    { name: 'stopped spends no attempt', bead: bead({ attempts: 1 }), outcome: 'stopped', next: { status: 'open', attempts: 1, assigneeId: null } },
    { name: 'stopped while in review', bead: bead({ status: 'in_review' }), outcome: 'stopped', next: null },
    { name: 'closed never moves', bead: bead({ status: 'closed' }), outcome: 'failed', next: null },
    { name: 'failed never moves', bead: bead({ status: 'failed' }), outcome: 'completed', next: null },
  ] as const;
  it.each(cases)('$name', ({ bead: b, outcome, next }) => expect(beadAfterCompletion(b, outcome)).toEqual(next));
});

describe('small pure helpers', () => {
  it('statusFromHeartbeat', () => {
    expect(statusFromHeartbeat({ runtimeState: 'running', activity: 'working' })).toBe('working');
    expect(statusFromHeartbeat({ runtimeState: 'idle', activity: 'waiting' })).toBe('waiting');
    expect(statusFromHeartbeat({ runtimeState: 'exited', activity: 'waiting' })).toBe('exited');
    expect(statusFromHeartbeat({ runtimeState: 'failed', activity: 'working' })).toBe('failed');
    expect(statusFromHeartbeat({ runtimeState: 'starting', activity: 'working' })).toBe('starting');
  });

  it('effectiveTokenTtlSeconds is the smaller of town and deployment', () => {
    const policy = { agentTokenTtlSeconds: 3600, clockToleranceSeconds: 60, refreshGraceSeconds: 30, refreshIdleExpirySeconds: 1 };
    expect(effectiveTokenTtlSeconds({ ...defaultTownConfig(policy), agentTokenTtlSeconds: 60 }, policy)).toBe(60);
    expect(effectiveTokenTtlSeconds({ ...defaultTownConfig(policy), agentTokenTtlSeconds: 7200 }, policy)).toBe(3600);
    expect(defaultTownConfig(policy).agentTokenTtlSeconds).toBe(3600);
  });

  it('formatZodError names targets and paths, not values', () => {
    const message = formatZodError(
      {
        issues: [
          { code: 'invalid_type', path: ['provider', 'baseUrl'], message: 'Invalid URL', expected: 'string', input: 'sk-secret' },
          { code: 'too_small', path: ['events', 3, 'id'], message: 'Too small', minimum: 8, origin: 'string', input: 'x' },
        ] as never,
      },
      'json',
    );
    expect(message).toBe('body.provider.baseUrl: Invalid URL; body.events[3].id: Too small');
    expect(message).not.toContain('sk-secret');
  });
});
