/**
 * A response body passed through unchanged, chunk for chunk (no read-ahead), while an observer
 * sees each chunk and learns exactly once how the body ended: read to its end, failed upstream,
 * or cancelled by the client. A throwing observer never disturbs the stream.
 */
export type BodyEnd = 'end' | 'error' | 'cancel';

export interface BodyObserver {
  chunk(chunk: Uint8Array): void;
  end(how: BodyEnd): void;
}

export function meteredBody(body: ReadableStream<Uint8Array>, observer: BodyObserver): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let ended = false;
  function end(how: BodyEnd): void {
    if (ended) return;
    ended = true;
    try {
      observer.end(how);
    } catch {
      // the observer's failure is its own: the client still gets the body
    }
  }
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let result: Awaited<ReturnType<typeof reader.read>>;
        try {
          result = await reader.read();
        } catch (err) {
          end('error');
          controller.error(err);
          return;
        }
        if (result.done) {
          end('end');
          controller.close();
          return;
        }
        try {
          observer.chunk(result.value);
        } catch {
          // as above
        }
        controller.enqueue(result.value);
      },
      async cancel(reason) {
        end('cancel');
        await reader.cancel(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
