import { describe, expect, it } from 'vitest';
import { GastownError, type ErrorCode } from '../src/errors';
import { isJsonMediaType, readJsonRequestBody, type JsonBodySource } from '../src/json-body';

const MAX = 64;

/** A request-like source whose body arrives in chunks, with no Content-Length. */
function streamed(chunks: Uint8Array[], headers: Record<string, string> = { 'content-type': 'application/json' }): JsonBodySource & { cancelled(): boolean } {
  let cancelled = false;
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[i++];
      if (next) controller.enqueue(next);
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { headers: new Headers(headers), body, cancelled: () => cancelled };
}

function post(body: string | Uint8Array | null, headers: Record<string, string> = { 'content-type': 'application/json' }): Request {
  return new Request('http://x/', { method: 'POST', body, headers });
}

async function codeOfRead(source: JsonBodySource): Promise<ErrorCode | 'ok'> {
  try {
    await readJsonRequestBody(source, MAX);
    return 'ok';
  } catch (err) {
    if (err instanceof GastownError) return err.code;
    throw err;
  }
}

describe('readJsonRequestBody', () => {
  it.each([
    { name: 'JSON object', body: '{"a":1}', type: 'application/json', value: { a: 1 } },
    { name: 'charset parameter', body: '[1]', type: 'application/json; charset=utf-8', value: [1] },
    { name: 'upper-case media type', body: 'null', type: 'Application/JSON', value: null },
    { name: '+json media type', body: '"s"', type: 'application/merge-patch+json', value: 's' },
    { name: 'exactly maxBytes', body: `"${'x'.repeat(MAX - 2)}"`, type: 'application/json', value: 'x'.repeat(MAX - 2) },
  ])('parses a JSON body: $name', async ({ body, type, value }) => {
    expect(await readJsonRequestBody(post(body, { 'content-type': type }), MAX)).toEqual({ text: body, value });
  });

  it.each([
    { name: 'no body', request: () => post(null) },
    { name: 'empty body', request: () => post('') },
    { name: 'whitespace only, any media type', request: () => post(' \n\t', { 'content-type': 'text/plain' }) },
  ])('reads an absent or blank body as null: $name', async ({ request }) => {
    expect(await readJsonRequestBody(request(), MAX)).toBeNull();
  });

  it.each([
    { name: 'truncated JSON', source: () => post('{"a": '), code: 'bad_json' },
    { name: 'bytes that are not UTF-8', source: () => post(new Uint8Array([0x7b, 0x22, 0x61, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), code: 'bad_json' },
    { name: 'text/plain', source: () => post('{}', { 'content-type': 'text/plain' }), code: 'unsupported_media_type' },
    { name: 'no content type', source: () => post(new TextEncoder().encode('{}'), {}), code: 'unsupported_media_type' },
    { name: 'form body', source: () => post('a=1', { 'content-type': 'application/x-www-form-urlencoded' }), code: 'unsupported_media_type' },
    { name: 'a whole body over the limit', source: () => post(JSON.stringify('x'.repeat(MAX))), code: 'payload_too_large' },
    {
      name: 'chunked, no length, over the limit',
      source: () => streamed([new Uint8Array(40).fill(0x20), new Uint8Array(40).fill(0x20)]),
      code: 'payload_too_large',
    },
  ] as const)('refuses a bad body with a typed error: $name', async ({ source, code }) => {
    expect(await codeOfRead(source())).toBe(code);
  });

  it('stops reading and cancels the stream as soon as the limit is passed', async () => {
    const chunks = Array.from({ length: 10 }, () => new Uint8Array(40).fill(0x20));
    const source = streamed(chunks);
    expect(await codeOfRead(source)).toBe('payload_too_large');
    expect(source.cancelled()).toBe(true);
  });

  it('refuses on the declared length alone, without reading the body', async () => {
    const source = streamed([new TextEncoder().encode('{}')], { 'content-type': 'application/json', 'content-length': String(MAX + 1) });
    expect(await codeOfRead(source)).toBe('payload_too_large');
    expect(source.body?.locked).toBe(false);
  });
});

describe('isJsonMediaType', () => {
  it.each([
    { name: 'application/json', type: 'application/json', json: true },
    { name: 'vendor +json', type: 'application/vnd.api+json; charset=utf-8', json: true },
    { name: 'text/json', type: 'text/json', json: false },
    { name: 'json as a suffix only', type: 'application/jsonp', json: false },
    { name: 'absent', type: null, json: false },
  ])('$name', ({ type, json }) => {
    expect(isJsonMediaType(type)).toBe(json);
  });
});
