/**
 * A provider's error body, read before it is answered so its code can be measured. Error bodies
 * are small; one over `maxBytes` is not held: the bytes read so far and the rest are streamed on.
 */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export type ProviderErrorBody = { complete: true; bytes: Uint8Array } | { complete: false; stream: ReadableStream<Uint8Array> };

/** Reads `body` whole when it fits in `maxBytes`; a read failure rejects (the caller answers 502). */
export async function readErrorBody(body: ReadableStream<Uint8Array> | null, maxBytes: number = MAX_ERROR_BODY_BYTES): Promise<ProviderErrorBody> {
  if (body === null) return { complete: true, bytes: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { complete: true, bytes: concat(chunks, total) };
    chunks.push(value);
    total += value.byteLength;
    if (total > maxBytes) return { complete: false, stream: prefixed(chunks, reader) };
  }
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** The chunks already read, then the rest of `reader`. */
function prefixed(chunks: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  const pending = [...chunks];
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const head = pending.shift();
        if (head !== undefined) return controller.enqueue(head);
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
