/** Route definitions of escalations (protocol USER_API.escalations, .acknowledgeEscalation, .resolveEscalation). */
import { createRoute, z } from '@hono/zod-openapi';
import {
  AcknowledgeEscalationRequestSchema,
  BeadIdSchema,
  EscalationListQuerySchema,
  EscalationListResponseSchema,
  EscalationResponseSchema,
  ResolveEscalationRequestSchema,
  TownIdSchema,
} from '@gastown/protocol';
import { TownParams } from './params';
import { ERROR_RESPONSES, SECURITY, api, apiObject, jsonBody, jsonContent } from './schema';

const { 400: e400, 401: e401, 404: e404, 413: e413, 415: e415 } = ERROR_RESPONSES;
const notFound = { ...e404, description: "not_found: the town, or no escalation with that id (another user's answers 404 too)" };

export const EscalationParams = z.object({ townId: api(TownIdSchema), beadId: api(BeadIdSchema) });

export const listEscalationsRoute = createRoute({
  method: 'get',
  path: '/api/towns/{townId}/escalations',
  tags: ['escalations'],
  summary: 'Escalations (beads of type escalation), oldest first, filtered by state (open, acknowledged, resolved), severity and rigId (paginated)',
  security: [...SECURITY.user],
  request: { params: TownParams, query: apiObject(EscalationListQuerySchema) },
  responses: { 200: jsonContent(EscalationListResponseSchema, 'escalations'), 400: e400, 401: e401, 404: notFound },
});

export const acknowledgeEscalationRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/escalations/{beadId}/acknowledge',
  tags: ['escalations'],
  summary:
    'Acknowledge an escalation: it stays open, with metadata acknowledgedAt/acknowledgedBy (and the note). Idempotent; a resolved one is returned as it is',
  security: [...SECURITY.user],
  request: { params: EscalationParams, body: jsonBody(AcknowledgeEscalationRequestSchema, 'optional note; an empty body is fine') },
  responses: { 200: jsonContent(EscalationResponseSchema, 'the escalation'), 400: e400, 401: e401, 404: notFound, 413: e413, 415: e415 },
});

export const resolveEscalationRoute = createRoute({
  method: 'post',
  path: '/api/towns/{townId}/escalations/{beadId}/resolve',
  tags: ['escalations'],
  summary: 'Resolve an escalation: closed, with metadata resolvedAt/resolvedBy (and the resolution). Idempotent; no acknowledgement needed first',
  security: [...SECURITY.user],
  request: { params: EscalationParams, body: jsonBody(ResolveEscalationRequestSchema, 'optional resolution; an empty body is fine') },
  responses: { 200: jsonContent(EscalationResponseSchema, 'the resolved escalation'), 400: e400, 401: e401, 404: notFound, 413: e413, 415: e415 },
});

export const ESCALATION_ROUTES = [listEscalationsRoute, acknowledgeEscalationRoute, resolveEscalationRoute] as const;
