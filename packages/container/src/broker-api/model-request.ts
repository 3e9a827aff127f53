/**
 * What the model proxy needs from a model call's request: the model it names, whether it streams,
 * and the bytes to forward. A JSON POST is read whole (bounded); an OpenAI chat stream gets
 * `stream_options.include_usage = true` so its last chunk reports usage. Anything else (a GET, a
 * non-JSON upload) is not read here and is forwarded as it comes.
 */
import { isJsonMediaType, readBoundedBytes } from '@gastown/protocol';
import type { ModelWireFormat } from '@gastown/protocol';
import { asObject } from '../model-usage';

/** Anthropic's own request limit; a long conversation with images is megabytes. */
export const MAX_MODEL_REQUEST_BYTES = 32 * 1024 * 1024;

export interface ModelRequest {
  /** The bytes to forward: the client's own, or re-serialised when `include_usage` was added. */
  body: Uint8Array;
  /** `model` when the body is a JSON object naming one as a string, else null. */
  model: string | null;
  stream: boolean;
}

function parseObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    return asObject(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown);
  } catch {
    return null;
  }
}

/**
 * The model call in `request`, or null when it is not a JSON POST (forward the stream untouched).
 * A body over `maxBytes` → payload_too_large (413). Bytes that are not a JSON object are forwarded
 * unchanged with no model.
 */
export async function readModelRequest(request: Request, wire: ModelWireFormat, maxBytes: number = MAX_MODEL_REQUEST_BYTES): Promise<ModelRequest | null> {
  if (request.method !== 'POST' || !isJsonMediaType(request.headers.get('content-type'))) return null;
  const bytes = await readBoundedBytes(request, maxBytes);
  const value = parseObject(bytes);
  if (value === null) return { body: bytes, model: null, stream: false };
  const model = typeof value['model'] === 'string' ? value['model'] : null;
  const stream = value['stream'] === true;
  const options = asObject(value['stream_options']);
  if (wire !== 'openai-chat' || !stream || options?.['include_usage'] === true) return { body: bytes, model, stream };
  const rewritten = { ...value, stream_options: { ...options, include_usage: true } };
  return { body: new TextEncoder().encode(JSON.stringify(rewritten)), model, stream };
}
