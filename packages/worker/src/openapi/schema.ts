/**
 * Bridges the protocol's zod schemas into @hono/zod-openapi. The protocol package and
 * @hono/zod-openapi resolve two copies of zod 4 (identical at runtime, distinct types), so the
 * schemas are re-typed here — never copied: the object that validates is the object documented.
 */
import { z } from '@hono/zod-openapi';
import type { z as pz } from 'zod';
import { ErrorBodySchema } from '@gastown/protocol';

/** A protocol schema, typed for route definitions. */
export function api<T extends pz.ZodType>(schema: T): z.ZodType<pz.output<T>, pz.input<T>> {
  return schema as never;
}

/** A protocol object schema for `params` / `query` (zod-openapi needs an object type there). */
export function apiObject<T extends pz.ZodObject>(
  schema: T,
): z.ZodObject<{ [K in keyof T['shape']]: z.ZodType<pz.output<T['shape'][K]>, pz.input<T['shape'][K]>> }> {
  return schema as never;
}

/** JSON request body (required: a missing body is validated as `{}` and fails typed). */
export function jsonBody<T extends pz.ZodType>(schema: T, description?: string) {
  return { required: true, description, content: { 'application/json': { schema: api(schema) } } } as const;
}

export function jsonContent<T extends pz.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema: api(schema) } } } as const;
}

const errorContent = (description: string) => ({ description, content: { 'application/json': { schema: api(ErrorBodySchema) } } });

/** Error responses every authenticated JSON route can produce. */
export const ERROR_RESPONSES = {
  400: errorContent('bad_json or validation_failed'),
  401: errorContent('token_missing, token_malformed, token_expired, token_bad_signature, token_unknown_key, token_revoked'),
  403: errorContent('token_scope or role_forbidden'),
  404: errorContent('not_found'),
  409: errorContent('conflict'),
  413: errorContent('payload_too_large'),
  415: errorContent('unsupported_media_type'),
  422: errorContent('snapshot_corrupt'),
  429: errorContent('rate_limited'),
} as const;

export const SECURITY: Record<'user' | 'agent' | 'refresh' | 'admin', Array<Record<string, string[]>>> = {
  user: [{ userToken: [] }],
  agent: [{ agentToken: [] }],
  refresh: [{ refreshCredential: [] }],
  admin: [{ adminSecret: [] }],
};
