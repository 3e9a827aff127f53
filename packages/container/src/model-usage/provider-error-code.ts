/**
 * The provider's error code out of an error body: OpenAI `{error: {message, type, code}}` →
 * `code ?? type`; Anthropic `{type: 'error', error: {type, message}}` → `error.type`. Never the
 * message (it may quote the request or the key's prefix). At most 100 characters.
 */
import type { ModelWireFormat } from '@gastown/protocol';
import { asObject } from './token-usage';

export const MAX_ERROR_CODE_CHARS = 100;

function asCode(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string' || value.trim() === '') return null;
  return value.trim().slice(0, MAX_ERROR_CODE_CHARS);
}

/** The error code of a parsed body, or null when it holds none. */
export function providerErrorCode(wire: ModelWireFormat, body: unknown): string | null {
  const error = asObject(asObject(body)?.['error']);
  if (error === null) return null;
  if (wire === 'anthropic-messages') return asCode(error['type']);
  return asCode(error['code']) ?? asCode(error['type']);
}
