import type { CredentialStatus } from '@gastown/protocol';

export interface CredentialEvent {
  type: 'credential.refreshed' | 'credential.state_changed';
  data: Record<string, unknown>;
}

/**
 * Events worth persisting when the broker's status moves from `previous` to `next`:
 * a refresh (any source) and a change of credential state. Pure; holds no secret
 * (the status carries only a fingerprint).
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
  }
  return events;
}
