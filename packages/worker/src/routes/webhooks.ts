import type { OpenAPIHono } from '@hono/zod-openapi';
import { GastownError, GitProviderKindSchema, readBoundedBytes, RigIdSchema, TownIdSchema, WEBHOOK_HEADERS, WEBHOOK_ROUTE } from '@gastown/protocol';
import type { AppDeps, AppEnv } from '../http/types';
import { webhookRoute } from '../openapi/webhook-routes';
import { unwrap } from '../town/rpc-result';

/** Largest webhook body read (GitHub's pull_request payloads are tens of KB). */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

/**
 * Git host webhooks (WEBHOOK_ROUTE), outside the user and agent APIs: no bearer token — the
 * delivery is signed with the rig's webhook secret. The route reads the raw body (the signature
 * covers its exact bytes, so app.ts registers it before the JSON body guard) and forwards it with
 * the headers to the town; the TownDO, which holds the secret, verifies the signature before
 * anything else (401 webhook_unauthorized, nothing changes) and applies the delivery once.
 */
export function registerWebhookRoutes(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openAPIRegistry.registerPath(webhookRoute);

  app.post(WEBHOOK_ROUTE, async function receiveWebhook(c) {
    const provider = GitProviderKindSchema.safeParse(c.req.param('provider'));
    const townId = TownIdSchema.safeParse(c.req.param('townId'));
    const rigId = RigIdSchema.safeParse(c.req.param('rigId'));
    if (!provider.success || !townId.success || !rigId.success) throw new GastownError('not_found', 'no such webhook');
    const body = await readBoundedBytes(c.req.raw, MAX_WEBHOOK_BYTES);
    const github = provider.data === 'github';
    const header = (name: string) => c.req.header(name)?.slice(0, 512) ?? null;
    const result = unwrap(
      await deps.directory.town(townId.data).receiveWebhook({
        provider: provider.data,
        rigId: rigId.data,
        event: header(github ? WEBHOOK_HEADERS.githubEvent : WEBHOOK_HEADERS.gitlabEvent),
        deliveryId: header(github ? WEBHOOK_HEADERS.githubDelivery : WEBHOOK_HEADERS.gitlabDelivery),
        signature: github ? header(WEBHOOK_HEADERS.githubSignature) : null,
        token: github ? null : header(WEBHOOK_HEADERS.gitlabToken),
        body,
      }),
    );
    return c.json(result, 200);
  });
}
