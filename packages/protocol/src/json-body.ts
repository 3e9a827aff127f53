import { GastownError } from './errors';

/** `application/json` and the `application/<x>+json` family, any case. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** The part of a request the reader needs (a fetch `Request` in the worker and in Node). */
export type JsonBodySource = Pick<Request, 'headers' | 'body'>;

/** A non-empty JSON request body: its text as sent and the parsed value. */
export interface JsonBody {
  text: string;
  value: unknown;
}

/**
 * The request-body contract of every JSON route (worker APIs, container control, broker and host
 * APIs), checked before any validation: a declared or actual size over `maxBytes` →
 * payload_too_large (413; a lying Content-Length does not help); bytes that are not UTF-8 or text
 * that is not JSON → bad_json (400); a non-empty body whose media type is not JSON →
 * unsupported_media_type (415). An absent or blank (whitespace-only) body returns null, whatever
 * its media type.
 */
export async function readJsonRequestBody(request: JsonBodySource, maxBytes: number): Promise<JsonBody | null> {
  const text = await readBoundedText(request, maxBytes);
  if (text.trim() === '') return null;
  if (!isJsonMediaType(request.headers.get('content-type'))) {
    throw new GastownError('unsupported_media_type', 'request body must be application/json');
  }
  try {
    return { text, value: JSON.parse(text) as unknown };
  } catch {
    throw new GastownError('bad_json', 'request body is not valid JSON');
  }
}

/** Whether a Content-Type header names JSON (parameters such as `; charset=utf-8` are ignored). */
export function isJsonMediaType(contentType: string | null | undefined): boolean {
  const mediaType = (contentType ?? '').split(';')[0]?.trim() ?? '';
  return JSON_MEDIA_TYPE.test(mediaType);
}

/**
 * A request body's bytes, read whole but never past `maxBytes`: a declared Content-Length over it
 * is refused before anything is read, and a body that turns out longer (a lying or absent
 * Content-Length) is refused as soon as it passes it — 413 payload_too_large either way. Binary
 * routes (session snapshots, webhooks) use it directly; JSON routes through readJsonRequestBody.
 */
export async function readBoundedBytes(request: JsonBodySource, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The body as UTF-8 text, failing as soon as it passes `maxBytes`. */
async function readBoundedText(request: JsonBodySource, maxBytes: number): Promise<string> {
  const bytes = await readBoundedBytes(request, maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new GastownError('bad_json', 'request body is not valid UTF-8');
  }
}

function tooLarge(maxBytes: number): GastownError {
  return new GastownError('payload_too_large', `request body exceeds ${maxBytes} bytes`);
}
