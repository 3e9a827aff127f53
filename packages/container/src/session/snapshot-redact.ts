/**
 * Redaction of a runtime's session JSON before it leaves the container: every string, keys and
 * values, at any depth, goes through one redaction function (the container passes
 * `(s) => redactString(s, secrets.values())`: registered secrets and SECRET_PATTERNS).
 *
 * Unlike log/redact.ts `redactValue`, nothing is cut: no depth limit, no `[depth]` marker, since a
 * snapshot must restore whole. The input is parsed JSON (plain objects, arrays and primitives;
 * a tree, so no cycle check). Pure: the input is never mutated; a new tree is returned.
 */

/** Redacts one string. Must be a function of its argument only (results are memoised per call). */
export type StringRedactor = (value: string) => string;

/**
 * A function that copies JSON trees with `redact` applied to every string and every object key.
 * Strings repeat a lot in a session (keys, ids, part types): each distinct string is redacted
 * once per redactor, however many trees it copies.
 */
export function createTreeRedactor(redact: StringRedactor): <T>(value: T) => T {
  const memo = new Map<string, string>();
  const redactOnce = (text: string): string => {
    let out = memo.get(text);
    if (out === undefined) {
      out = redact(text);
      memo.set(text, out);
    }
    return out;
  };
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return redactOnce(node);
    if (node === null || typeof node !== 'object') return node;
    if (Array.isArray(node)) return node.map(walk);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(node)) {
      const name = redactOnce(key);
      const item = walk((node as Record<string, unknown>)[key]);
      // a `__proto__` key (JSON.parse makes it an own property) stays a key, never a prototype
      if (name === '__proto__') Object.defineProperty(out, name, { value: item, enumerable: true, writable: true, configurable: true });
      else out[name] = item;
    }
    return out;
  };
  return <T>(value: T): T => walk(value) as T;
}

/** A copy of `value` with `redact` applied to every string and every object key. */
export function redactJsonTree<T>(value: T, redact: StringRedactor): T {
  return createTreeRedactor(redact)(value);
}
