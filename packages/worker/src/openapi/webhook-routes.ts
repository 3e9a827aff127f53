/** The git host webhook endpoint (protocol WEBHOOK_ROUTE): documented here, served by routes/webhooks.ts. */
import { createRoute, z } from '@hono/zod-openapi';
import { GitProviderKindSchema, RigIdSchema, TownIdSchema } from '@gastown/protocol';
import { api, ERROR_RESPONSES, jsonContent } from './schema';

const { 401: e401, 404: e404, 413: e413 } = ERROR_RESPONSES;

export const WebhookParams = z.object({ provider: api(GitProviderKindSchema), townId: api(TownIdSchema), rigId: api(RigIdSchema) });

export const WebhookResponseSchema = z.object({
  /** merged / closed: the pull request's merge request and source bead moved; duplicate: a delivery seen before (nothing changed); ignored: nothing to do. */
  outcome: z.enum(['merged', 'closed', 'ignored', 'duplicate']),
  mergeRequestBeadId: z.string().nullable(),
});

export const webhookRoute = createRoute({
  method: 'post',
  path: '/webhooks/{provider}/towns/{townId}/rigs/{rigId}',
  tags: ['webhooks'],
  summary:
    "A git host's webhook for a rig (pull request events). GitHub: X-Hub-Signature-256 = HMAC-SHA256 of the raw body with the rig's webhook secret, X-GitHub-Event, X-GitHub-Delivery; GitLab: X-Gitlab-Token = the secret. No bearer token.",
  request: { params: WebhookParams },
  responses: {
    200: jsonContent(WebhookResponseSchema as never, 'what the delivery changed'),
    401: { ...e401, description: 'webhook_unauthorized: signature missing or wrong (nothing changed)' },
    404: { ...e404, description: 'not_found: unknown town or rig' },
    413: e413,
  },
});
