import { LIMITS, readJsonRequestBody } from '@gastown/protocol';
import type { Context } from 'hono';

/**
 * Read a request body as JSON under the shared JSON body contract of @gastown/protocol
 * (`readJsonRequestBody`: 413 payload_too_large, 415 unsupported_media_type, 400 bad_json, also
 * for bytes that are not UTF-8). An empty body → undefined.
 */
export async function readJsonBody(c: Context, maxBytes: number = LIMITS.maxBodyBytes): Promise<unknown> {
  return (await readJsonRequestBody(c.req.raw, maxBytes))?.value;
}
