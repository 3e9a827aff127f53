import { GastownError } from '@gastown/protocol';
import type { MiddlewareHandler } from 'hono';

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Request-body gate for every body route, before any validation:
 * declared or actual size over `maxBytes` → 413 payload_too_large; a non-empty body that is not
 * JSON → 415; unparseable JSON → 400 bad_json. The read text is cached for the zod validator.
 * An empty body reads as `{}` (so argument-less calls need no body).
 */
export function jsonBodyGuard(maxBytes: number): MiddlewareHandler {
  return async function guardJsonBody(c, next) {
    if (!METHODS_WITH_BODY.has(c.req.method)) return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > maxBytes) {
      throw new GastownError('payload_too_large', `request body exceeds ${maxBytes} bytes`);
    }
    const body = c.req.raw.body;
    const text = body ? await readLimited(body, maxBytes) : '';
    if (text.trim() === '') {
      c.req.bodyCache.text = Promise.resolve('{}') as never;
      return next();
    }
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]?.trim() ?? '';
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw new GastownError('unsupported_media_type', 'request body must be application/json');
    }
    try {
      JSON.parse(text);
    } catch {
      throw new GastownError('bad_json', 'request body is not valid JSON');
    }
    c.req.bodyCache.text = Promise.resolve(text) as never;
    return next();
  };
}

/** Read a body stream, failing as soon as it passes `maxBytes` (a lying Content-Length does not help). */
async function readLimited(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<string> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new GastownError('payload_too_large', `request body exceeds ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new GastownError('bad_json', 'request body is not valid UTF-8');
  }
}
