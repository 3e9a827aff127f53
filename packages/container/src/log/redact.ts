import { SECRET_PATTERNS } from '@gastown/protocol';
import { fingerprint } from './fingerprint';

export { SECRET_PATTERNS };

export function redactionMarker(secret: string): string {
  return `[redacted:${fingerprint(secret)}]`;
}

/** Replace every registered secret and every secret-looking substring of `text`. */
export function redactString(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(redactionMarker(secret));
  }
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match) => redactionMarker(match));
  }
  return out;
}

const MAX_DEPTH = 8;

/**
 * A JSON-safe copy of `value` with every string (keys included) redacted.
 * Errors become `{name, code, message}`; cycles and deep nesting are cut.
 */
export function redactValue(value: unknown, secrets: readonly string[], depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactString(value, secrets);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'undefined' || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (depth >= MAX_DEPTH) return '[depth]';
  const obj = value as object;
  if (seen.has(obj)) return '[circular]';
  seen.add(obj);
  if (obj instanceof Error) {
    const code = (obj as { code?: unknown }).code;
    return {
      name: obj.name,
      ...(code !== undefined ? { code: redactValue(code, secrets, depth + 1, seen) } : {}),
      message: redactString(obj.message, secrets),
    };
  }
  if (Array.isArray(obj)) return obj.map((item) => redactValue(item, secrets, depth + 1, seen));
  if (obj instanceof Date) return obj.toISOString();
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(obj)) {
    const redacted = redactValue(item, secrets, depth + 1, seen);
    if (redacted !== undefined) out[redactString(key, secrets)] = redacted;
  }
  return out;
}
