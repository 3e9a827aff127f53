import type { Bead } from '@gastown/protocol';

export type EscalationState = 'open' | 'acknowledged' | 'resolved';

/**
 * The state of an escalation bead (closed → resolved; open with `metadata.acknowledgedAt` →
 * acknowledged), as escalation-api.ts's escalationState, without importing zod. Pure.
 */
export function escalationState(bead: Pick<Bead, 'status' | 'metadata'>): EscalationState {
  if (bead.status === 'closed') return 'resolved';
  return typeof bead.metadata.acknowledgedAt === 'number' ? 'acknowledged' : 'open';
}

/** Escalations that still need a human: open first, then acknowledged, then resolved; newest first within each. */
export function sortEscalations(beads: readonly Bead[]): Bead[] {
  const rank: Record<EscalationState, number> = { open: 0, acknowledged: 1, resolved: 2 };
  return beads.filter((b) => b.type === 'escalation').sort((a, b) => rank[escalationState(a)] - rank[escalationState(b)] || b.createdAt - a.createdAt);
}
