/**
 * Shared machinery of the bad-input suite: a refusal case table, the assertions every refusal
 * must pass (typed 4xx body, the right code, no stack frames or file paths, no echo of the
 * presented credential or hostile value), a whole-state snapshot around every case (so a
 * rejected request provably changed nothing), and the /health check that proves no crash.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { ERROR_STATUS, LIMITS, type ErrorCode } from '@gastown/protocol';
import { decodeJwt } from 'jose';
import { expect } from 'vitest';
import { call, snapshotTown, type CallOptions, type CallResult } from '../helpers';

export interface RefusalCase<W> {
  name: string;
  method: string;
  path: (w: W) => string;
  opts: (w: W) => CallOptions;
  /** The expected code; the status is ERROR_STATUS[code]. */
  code: ErrorCode;
  /** Values that must not appear anywhere in the response (credentials, hostile input). */
  secrets?: (w: W) => string[];
}

/** Anything that betrays an implementation detail: stack frames, source paths, raw error names. */
const LEAK_PATTERNS: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  { name: 'stack frame', pattern: /\bat\s+(?:async\s+)?[\w$.<>[\] ]*\(?[^\s()]+:\d+:\d+\)?/ },
  { name: 'stack line', pattern: /\n\s+at\s/ },
  { name: 'source file', pattern: /\.(?:c|m)?(?:t|j)sx?(?::\d+|\b\))/ },
  { name: 'node_modules', pattern: /node_modules/ },
  { name: 'file URL', pattern: /file:\/\/\/?[\w.-]+\// },
  { name: 'absolute source path', pattern: /\/(?:work|home|root|tmp|src|packages)\/[\w.-]+\// },
  { name: 'raw error class', pattern: /\b(?:TypeError|ReferenceError|SyntaxError|RangeError|SqliteError|ZodError)\b/ },
];

/** Assert one response is the typed refusal `code`: exact error body, right status, nothing leaked. */
export function expectRefusal(res: CallResult, code: ErrorCode, label: string, secrets: readonly string[] = []): void {
  expect({ case: label, status: res.status, code: res.body?.error?.code }).toEqual({ case: label, status: ERROR_STATUS[code], code });
  expect(Object.keys(res.body as object), label).toEqual(['error']);
  expect(Object.keys(res.body.error).sort(), label).toEqual(['code', 'message']);
  expect(typeof res.body.error.message, label).toBe('string');
  expect(res.headers.get('content-type') ?? '', label).toMatch(/^application\/json/);
  const text = JSON.stringify(res.body);
  for (const { name, pattern } of LEAK_PATTERNS) expect(pattern.test(text), `${label}: response holds a ${name}: ${text}`).toBe(false);
  for (const secret of secrets) {
    if (secret.length >= 6) expect(text.includes(secret), `${label}: response echoes a presented value`).toBe(false);
  }
}

/**
 * Run a refusal table against one world: for every case, snapshot → request → typed refusal →
 * identical snapshot. Afterwards the worker still answers /health.
 */
export async function runRefusals<W>(w: W, cases: ReadonlyArray<RefusalCase<W>>, snapshot: (w: W) => Promise<unknown>): Promise<void> {
  for (const c of cases) await runRefusal(w, c, snapshot);
  await expectHealthy();
}

export async function runRefusal<W>(w: W, c: RefusalCase<W>, snapshot: (w: W) => Promise<unknown>): Promise<void> {
  const before = await snapshot(w);
  const res = await call(c.method, c.path(w), c.opts(w));
  expectRefusal(res, c.code, c.name, c.secrets?.(w) ?? []);
  expect(await snapshot(w), `state changed: ${c.name}`).toEqual(before);
}

export async function expectHealthy(): Promise<void> {
  const health = await call('GET', '/health');
  expect({ status: health.status, body: health.body }).toEqual({ status: 200, body: { ok: true } });
}

/** Every row of a user's RegistryDO (the user's town list). */
export async function snapshotRegistry(userId: string): Promise<unknown[]> {
  const stub = env.REGISTRY.get(env.REGISTRY.idFromName(userId));
  return runInDurableObject(stub, (_instance, state) => state.storage.sql.exec('SELECT * FROM towns ORDER BY id').toArray());
}

/** A town's tables plus its owner's registry. */
export async function snapshotTownAndOwner(townId: string, userToken: string): Promise<unknown> {
  return { town: await snapshotTown(townId), registry: await snapshotRegistry(userIdOf(userToken)) };
}

export function userIdOf(userToken: string): string {
  const sub = decodeJwt(userToken).sub;
  if (!sub) throw new Error('user token without sub');
  return sub;
}

export const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** A JSON body streamed in 16 KiB chunks with no Content-Length, `bytes` long in total. */
export function chunkedBody(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode(`"${'x'.repeat(16 * 1024 - 2)}"`);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

/** What every JSON body route must refuse, whatever its schema. */
export interface BodyShape {
  /** A body the route accepts. */
  valid: Record<string, unknown>;
  /** A field and a value of the wrong JSON type. */
  wrongType: [string, unknown];
}

export const BODY_SHAPE_KINDS = [
  'truncated',
  'utf8',
  'null',
  'string',
  'array',
  'wrongType',
  'unknownField',
  'proto',
  'textPlain',
  'noContentType',
  'oversizedDeclared',
  'oversizedChunked',
  'missingField',
] as const;
export type BodyShapeKind = (typeof BODY_SHAPE_KINDS)[number];

/**
 * The body-shape refusal cases of one route. `required` names a field to drop (null when every
 * field is optional); `only` restricts the kinds (to extend, not repeat, test/town/bad-bodies).
 */
export function bodyShapeCases<W>(target: {
  name: string;
  method: string;
  path: (w: W) => string;
  token: (w: W) => string;
  shape: (w: W) => BodyShape;
  required: string | null;
  only?: readonly BodyShapeKind[];
}): RefusalCase<W>[] {
  const { name: prefix, method, path, token, shape } = target;
  const raw =
    (body: BodyInit, headers: Record<string, string> = JSON_HEADERS) =>
    (w: W) => ({ token: token(w), rawBody: body, headers });
  const json = (make: (s: BodyShape) => unknown) => (w: W) => ({ token: token(w), body: make(shape(w)) });
  const withProto = (valid: Record<string, unknown>) => {
    const inner = JSON.stringify(valid).slice(1, -1);
    return `{${inner}${inner ? ',' : ''}"__proto__":{"isAdmin":true}}`;
  };
  const all: Record<BodyShapeKind, Omit<RefusalCase<W>, 'name' | 'method' | 'path'> | null> = {
    truncated: { code: 'bad_json', opts: raw('{"a": ') },
    utf8: { code: 'bad_json', opts: raw(new Uint8Array([0x7b, 0x22, 0x61, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])) },
    null: { code: 'validation_failed', opts: raw('null') },
    string: { code: 'validation_failed', opts: raw('"{}"') },
    array: { code: 'validation_failed', opts: json((s) => [s.valid]) },
    wrongType: { code: 'validation_failed', opts: json((s) => ({ ...s.valid, [s.wrongType[0]]: s.wrongType[1] })) },
    unknownField: { code: 'validation_failed', opts: json((s) => ({ ...s.valid, isAdmin: true })) },
    proto: { code: 'validation_failed', opts: (w) => ({ token: token(w), rawBody: withProto(shape(w).valid), headers: JSON_HEADERS }) },
    textPlain: {
      code: 'unsupported_media_type',
      opts: (w) => ({ token: token(w), rawBody: JSON.stringify(shape(w).valid), headers: { 'content-type': 'text/plain' } }),
    },
    noContentType: {
      code: 'unsupported_media_type',
      opts: (w) => ({ token: token(w), rawBody: new TextEncoder().encode(JSON.stringify(shape(w).valid)), headers: {} }),
    },
    oversizedDeclared: { code: 'payload_too_large', opts: raw(JSON.stringify({ pad: 'x'.repeat(LIMITS.maxBodyBytes) })) },
    oversizedChunked: {
      code: 'payload_too_large',
      opts: (w) => ({ token: token(w), rawBody: chunkedBody(LIMITS.maxBodyBytes + 32 * 1024), headers: JSON_HEADERS }),
    },
    missingField:
      target.required === null
        ? null
        : {
            code: 'validation_failed',
            opts: json((s) => {
              const { [target.required as string]: _dropped, ...rest } = s.valid;
              return rest;
            }),
          },
  };
  const kinds = target.only ?? BODY_SHAPE_KINDS;
  return kinds.flatMap((kind) => {
    const c = all[kind];
    return c ? [{ ...c, name: `${prefix}: ${kind}`, method, path }] : [];
  });
}
