import { GastownError, LIMITS } from '@gastown/protocol';
import type { Context } from 'hono';

/**
 * Read a request body as JSON with a size limit. Empty body → undefined.
 * 413 payload_too_large, 415 unsupported_media_type, 400 bad_json (also for bytes that are not UTF-8).
 */
export async function readJsonBody(c: Context, maxBytes: number = LIMITS.maxBodyBytes): Promise<unknown> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const text = await readLimited(c.req.raw, maxBytes);
  if (text.length === 0) return undefined;
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new GastownError('unsupported_media_type', 'body must be application/json');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new GastownError('bad_json', 'body is not valid JSON');
  }
}

async function readLimited(request: Request, maxBytes: number): Promise<string> {
  if (!request.body) return '';
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
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new GastownError('bad_json', 'body is not valid UTF-8');
  }
}

function tooLarge(maxBytes: number): GastownError {
  return new GastownError('payload_too_large', `body exceeds ${maxBytes} bytes`);
}
