import { describe, expect, it } from 'vitest';
import { redactString } from '../../src/log/redact';
import { redactJsonTree } from '../../src/session/snapshot-redact';

const SECRET = 'planted-secret-value-7f3a9c';
const redact = (value: string) => redactString(value, [SECRET]);

/** `{ level1: { level2: … { [leafKey]: leaf } } }`, `depth` objects deep. */
function nested(depth: number, leafKey: string, leaf: unknown): Record<string, unknown> {
  let node: Record<string, unknown> = { [leafKey]: leaf };
  for (let level = depth - 1; level >= 1; level -= 1) node = { [`level${level}`]: node };
  return node;
}

describe('redactJsonTree', () => {
  it('redacts a value far deeper than the log redaction goes (depth 40)', () => {
    const out = JSON.stringify(redactJsonTree(nested(40, 'token', `x ${SECRET} y`), redact));
    expect(out).not.toContain(SECRET);
    expect(out).toContain('[redacted:');
    expect(out).toContain('level39');
  });

  it('redacts keys, and strings inside arrays', () => {
    const value = { [`key-${SECRET}`]: 1, list: [[['a', SECRET]]], n: 2, ok: true, none: null };
    const out = redactJsonTree(value, redact);
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(Object.keys(out)[0]).toMatch(/^key-\[redacted:[0-9a-f]{8}\]$/);
    expect(out).toMatchObject({ n: 2, ok: true, none: null, list: [[['a', expect.stringMatching(/^\[redacted:/)]]] });
  });

  it('redacts secret-shaped strings it was not told about (SECRET_PATTERNS)', () => {
    const out = JSON.stringify(redactJsonTree({ output: 'export OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwxyz012345' }, redact));
    expect(out).not.toContain('sk-abcdefghijklmnopqrstuvwxyz012345');
  });

  it('does not mutate its input', () => {
    const value = { a: { b: [SECRET, { [SECRET]: SECRET }] } };
    const before = structuredClone(value);
    redactJsonTree(value, redact);
    expect(value).toEqual(before);
  });

  it('keeps a `__proto__` key as a key (never a prototype)', () => {
    const value = JSON.parse(`{"__proto__": {"polluted": "${SECRET}"}}`) as Record<string, unknown>;
    const out = redactJsonTree(value, redact) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(out)).toMatch(/^\{"__proto__":\{"polluted":"\[redacted:[0-9a-f]{8}\]"\}\}$/);
  });

  it('calls the redactor once per distinct string', () => {
    let calls = 0;
    const counting = (value: string) => ((calls += 1), value);
    redactJsonTree({ a: 'same', b: 'same', list: ['same', 'same', 'other'] }, counting);
    expect(calls).toBe(5); // a, same, b, list, other
  });
});
