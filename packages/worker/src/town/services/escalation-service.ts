/**
 * Escalations as the owner handles them. An escalation is a bead of type `escalation` (raised by an
 * agent's gt_escalate, or by the town: a bead that used up its attempts, a spend warning, a key
 * refused). Acknowledged: it stays open, with metadata `acknowledgedAt`/`acknowledgedBy` (and an
 * optional note) — "someone is on it". Resolved: closed, with metadata `resolvedAt`/`resolvedBy`.
 * Both are idempotent; resolving needs no acknowledgement first.
 */
import { escalationState, GastownError, type Bead, type EscalationListQuery } from '@gastown/protocol';
import { toPage, type Page, type PageRequest } from '../list-page';
import type { TownContext } from './context';

export type EscalationFilter = Pick<EscalationListQuery, 'state' | 'severity' | 'rigId'>;

export class EscalationService {
  constructor(private readonly ctx: TownContext) {}

  /** Oldest first; every filter given must match. Escalations are few: filtered and paged in memory. */
  page(filter: EscalationFilter, request: PageRequest): Page<Bead> {
    const after = request.after;
    const matching = this.ctx.repos.beads
      .list({ type: 'escalation' })
      .filter(
        (b) =>
          (filter.state === undefined || escalationState(b) === filter.state) &&
          (filter.severity === undefined || b.metadata.severity === filter.severity) &&
          (filter.rigId === undefined || b.rigId === filter.rigId) &&
          (after === null || b.createdAt > after.createdAt || (b.createdAt === after.createdAt && b.id > after.id)),
      );
    return toPage(
      matching.slice(0, request.limit + 1),
      request.limit,
      (b) => ({ createdAt: b.createdAt, id: b.id }),
      (b) => b,
    );
  }

  acknowledge(beadId: string, userId: string, note: string | undefined): Bead {
    const bead = this.escalation(beadId);
    if (escalationState(bead) !== 'open') return bead;
    const now = this.ctx.clock.now();
    return this.ctx.transaction(() => {
      const metadata = { ...bead.metadata, acknowledgedAt: now, acknowledgedBy: userId, ...(note ? { acknowledgeNote: note } : {}) };
      const updated = this.ctx.repos.beads.update(bead.id, { metadata }, now);
      this.ctx.event({ type: 'escalation.acknowledged', beadId: bead.id, agentId: null, data: { by: userId } });
      return updated;
    });
  }

  resolve(beadId: string, userId: string, resolution: string | undefined): Bead {
    const bead = this.escalation(beadId);
    if (bead.status === 'closed') return bead;
    const now = this.ctx.clock.now();
    return this.ctx.transaction(() => {
      const metadata = { ...bead.metadata, resolvedAt: now, resolvedBy: userId, ...(resolution ? { resolution } : {}) };
      const updated = this.ctx.repos.beads.update(bead.id, { status: 'closed', assigneeId: null, metadata }, now);
      this.ctx.event({ type: 'escalation.resolved', beadId: bead.id, agentId: null, data: { by: userId, from: bead.status } });
      return updated;
    });
  }

  /** The escalation bead, or 404 (a bead of another type is not an escalation: 404 too). */
  private escalation(beadId: string): Bead {
    const bead = this.ctx.repos.beads.get(beadId);
    if (!bead || bead.type !== 'escalation') throw new GastownError('not_found', 'escalation not found');
    return bead;
  }
}
