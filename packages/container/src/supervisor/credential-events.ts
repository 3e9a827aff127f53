import type { CredentialStatus } from '@gastown/protocol';

export interface CredentialEvent {
  type: 'credential.refreshed' | 'credential.state_changed' | 'credential.expired';
  data: Record<string, unknown>;
}

/**
 * Events worth persisting when the broker's status moves from `previous` to `next`:
 * a refresh (any source), a change of credential state, and — once per outage — the moment the
 * access token expired without a replacement (`credential.expired`: the control plane turns the
 * first one into an escalation). Pure; holds no secret (the status carries only a fingerprint).
 */
export function credentialEvents(previous: CredentialStatus | null, next: CredentialStatus): CredentialEvent[] {
  if (!previous) return [];
  const events: CredentialEvent[] = [];
  if (next.refreshCount > previous.refreshCount || (next.lastRefreshAt !== null && next.lastRefreshAt !== previous.lastRefreshAt)) {
    events.push({
      type: 'credential.refreshed',
      data: {
        source: next.lastRefreshSource,
        tokenFingerprint: next.tokenFingerprint,
        accessTokenExpiresAt: next.accessTokenExpiresAt,
        refreshCount: next.refreshCount,
      },
    });
  }
  if (next.state !== previous.state) {
    events.push({
      type: 'credential.state_changed',
      data: { from: previous.state, to: next.state, consecutiveFailures: next.consecutiveFailures, lastError: next.lastError },
    });
    if (next.state === 'expired') {
      events.push({
        type: 'credential.expired',
        data: {
          from: previous.state,
          consecutiveFailures: next.consecutiveFailures,
          lastError: next.lastError,
          accessTokenExpiresAt: next.accessTokenExpiresAt,
        },
      });
    }
  }
  return events;
}
