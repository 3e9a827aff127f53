import { GastownError } from '@gastown/protocol';

/**
 * A binary request body, read whole but never past `maxBytes`: a declared Content-Length over it
 * is refused before anything is read, and a body that turns out longer (a lying or absent
 * Content-Length) is refused as soon as it passes it — 413 payload_too_large either way.
 */
export async function readBoundedBytes(request: Pick<Request, 'headers' | 'body'>, maxBytes: number): Promise<Uint8Array> {
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

function tooLarge(maxBytes: number): GastownError {
  return new GastownError('payload_too_large', `request body exceeds ${maxBytes} bytes`);
}
