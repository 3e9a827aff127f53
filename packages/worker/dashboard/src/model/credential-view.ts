import type { Agent, CredentialStatus } from '@gastown/protocol';

const LIVE_STATUSES: ReadonlySet<Agent['status']> = new Set(['starting', 'working', 'waiting']);

export type Severity = 'ok' | 'warn' | 'bad' | 'none';

/** What the agents table shows about one agent's credentials. Pure; holds no secret. */
export interface CredentialView {
  /** Control plane's state (none/healthy/expiring/expired/degraded/revoked). */
  state: Agent['credential']['state'];
  /** The broker's own state, when the container has reported one. */
  brokerState: CredentialStatus['state'] | null;
  /** When the token the agent holds expires (broker's view if reported, else the last minted token). */
  expiresAt: number | null;
  expiresSource: 'broker' | 'control-plane' | null;
  lastRefreshAt: number | null;
  lastRefreshSource: CredentialStatus['lastRefreshSource'] | 'control-plane' | null;
  /** Refreshes the broker counts (this run) and the control plane counts (this generation). */
  brokerRefreshCount: number | null;
  refreshCount: number;
  consecutiveFailures: number;
  unauthorizedCount: number;
  lastError: string | null;
  reportedAt: number | null;
  gen: number;
  severity: Severity;
  /** Human-readable reasons for a warn/bad severity, in order of importance. */
  problems: string[];
}

/**
 * Build the view from the control plane's CredentialHealth and the broker's last report.
 * For a live agent (starting/working/waiting): `expired`/`revoked` (either side) are bad; degraded,
 * expiring, failures > 0 and 401s > 0 warn. An agent that no longer runs is never flagged.
 */
export function credentialView(agent: Pick<Agent, 'credential' | 'status'>, now: number): CredentialView {
  const c = agent.credential;
  const r = c.reported;
  const expiresAt = r?.accessTokenExpiresAt ?? c.tokenExpiresAt;
  const brokerRefreshAt = r?.lastRefreshAt ?? null;
  const useBrokerRefresh = brokerRefreshAt !== null && (c.lastRefreshAt === null || brokerRefreshAt >= c.lastRefreshAt);
  const bad: string[] = [];
  const warn: string[] = [];
  if (c.state === 'revoked' || r?.state === 'revoked') bad.push('credentials revoked');
  const pastExpiry = expiresAt !== null && c.state !== 'none' && c.state !== 'revoked' && expiresAt <= now;
  if (c.state === 'expired' || r?.state === 'expired' || pastExpiry) bad.push('token expired');
  if (c.state === 'degraded' || r?.state === 'degraded') warn.push('refreshes failing (degraded)');
  if (c.state === 'expiring') warn.push('token past 75% of its life without a refresh');
  if (r && r.consecutiveFailures > 0) warn.push(`${r.consecutiveFailures} consecutive refresh failure${r.consecutiveFailures === 1 ? '' : 's'}`);
  if (r && r.unauthorizedCount > 0) warn.push(`${r.unauthorizedCount} 401 response${r.unauthorizedCount === 1 ? '' : 's'} seen`);
  // An agent that no longer runs holds no credential: its expired or revoked token is expected.
  const live = LIVE_STATUSES.has(agent.status);
  if (!live) {
    bad.length = 0;
    warn.length = 0;
  }
  const severity: Severity = bad.length > 0 ? 'bad' : warn.length > 0 ? 'warn' : c.state === 'none' || !live ? 'none' : 'ok';

  return {
    state: c.state,
    brokerState: r?.state ?? null,
    expiresAt,
    expiresSource: r ? 'broker' : c.tokenExpiresAt !== null ? 'control-plane' : null,
    lastRefreshAt: useBrokerRefresh ? brokerRefreshAt : c.lastRefreshAt,
    lastRefreshSource: useBrokerRefresh ? (r?.lastRefreshSource ?? null) : c.lastRefreshAt !== null ? 'control-plane' : null,
    brokerRefreshCount: r?.refreshCount ?? null,
    refreshCount: c.refreshCount,
    consecutiveFailures: r?.consecutiveFailures ?? 0,
    unauthorizedCount: r?.unauthorizedCount ?? 0,
    lastError: r?.lastError ?? null,
    reportedAt: c.reportedAt,
    gen: c.gen,
    severity,
    problems: [...bad, ...warn],
  };
}
