/**
 * Escalations (beads of type `escalation`) as the owner sees them: list, acknowledge, resolve
 * (USER_API.escalations, .acknowledgeEscalation, .resolveEscalation). Acknowledged: the bead stays
 * open with metadata `acknowledgedAt`/`acknowledgedBy`; resolved: the bead is closed.
 */
import { z } from 'zod';
import { RigIdSchema } from './common';
import { BeadSchema } from './models';
import { PageCursorSchema, PageLimitSchema } from './user-api';

export const EscalationStateSchema = z.enum(['open', 'acknowledged', 'resolved']);
export type EscalationState = z.infer<typeof EscalationStateSchema>;
export const EscalationSeveritySchema = z.enum(['low', 'medium', 'high']);
export type EscalationSeverity = z.infer<typeof EscalationSeveritySchema>;

/** `GET …/escalations`: every filter given must match; `state` absent: all of them. Oldest first, paginated. */
export const EscalationListQuerySchema = z
  .object({
    state: EscalationStateSchema.optional(),
    severity: EscalationSeveritySchema.optional(),
    rigId: RigIdSchema.optional(),
    limit: PageLimitSchema.optional(),
    cursor: PageCursorSchema.optional(),
  })
  .strict();
export type EscalationListQuery = z.input<typeof EscalationListQuerySchema>;
export const EscalationListResponseSchema = z.object({
  escalations: z.array(BeadSchema),
  nextCursor: z.string().nullable().default(null),
});
export type EscalationListResponse = z.infer<typeof EscalationListResponseSchema>;

/** `POST …/escalations/:beadId/acknowledge`: an optional note, kept in the metadata. Idempotent. */
export const AcknowledgeEscalationRequestSchema = z.object({ note: z.string().trim().max(500).optional() }).strict();
export type AcknowledgeEscalationRequest = z.input<typeof AcknowledgeEscalationRequestSchema>;
/** `POST …/escalations/:beadId/resolve`: an optional resolution, kept in the metadata. Idempotent. */
export const ResolveEscalationRequestSchema = z.object({ resolution: z.string().trim().max(500).optional() }).strict();
export type ResolveEscalationRequest = z.input<typeof ResolveEscalationRequestSchema>;

export const EscalationResponseSchema = z.object({ escalation: BeadSchema });
export type EscalationResponse = z.infer<typeof EscalationResponseSchema>;

/** The state an escalation bead is in (closed → resolved; open with acknowledgedAt → acknowledged). */
export function escalationState(bead: { status: string; metadata: Record<string, unknown> }): EscalationState {
  if (bead.status === 'closed') return 'resolved';
  return typeof bead.metadata.acknowledgedAt === 'number' ? 'acknowledged' : 'open';
}
