/**
 * The composed container for the bad-input suite, over real HTTP: control API, broker API, git,
 * real broker and client against the testkit fake control plane, a recording runtime in place of
 * opencode, and a stub model provider. Three agents run (mayor, polecat in a worktree, refinery
 * in a clone) so every route has a live target.
 *
 * Plus: the typed-refusal assertions, a snapshot of everything a request could change, and raw
 * HTTP for what fetch cannot send (lying Content-Length, repeated headers, unnormalised paths).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CONTAINER_KEY_HEADER,
  ERROR_STATUS,
  GastownError,
  LIMITS,
  type AgentCredentials,
  type AgentIdentity,
  type ErrorCode,
  type StartAgentRequest,
} from '@gastown/protocol';
import { startFakeControlPlane, type FakeControlPlane } from '@gastown/testkit/fake-control-plane/index';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config';
import type { AgentRuntime, RuntimeEvent, RuntimeOptions } from '../../src/contracts';
import { startContainer, type ContainerHandle } from '../../src/main';
import { createGitFixture, type GitFixture } from '../git/fixtures';
import { exportOf } from '../supervisor/fakes';

/** What fetch accepts as a request body. */
export type RequestBody = NonNullable<RequestInit['body']>;

export const CONTAINER_KEY = 'bad-input-container-key-0123456789abcdef';
export const PROVIDER_KEY = 'sk-bad-input-provider-key-0123456789abcdef';

export class RecordingRuntime implements AgentRuntime {
  pid: number | null = null;
  sessionId: string | null = null;
  readonly isolation = 'none' as const;
  readonly prompts: string[] = [];
  readonly listeners = new Set<(e: RuntimeEvent) => void>();
  constructor(readonly options: RuntimeOptions) {}
  async start() {
    this.pid = 4242;
    this.sessionId = 'ses_recording';
  }
  async prompt(text: string) {
    this.prompts.push(text);
  }
  readonly restoreOutcome = null;
  async exportSession() {
    return exportOf(this.sessionId ?? 'ses_none', this.prompts);
  }
  async runAsAgent(): Promise<never> {
    throw new GastownError('internal', 'RecordingRuntime runs no commands');
  }
  onEvent(listener: (e: RuntimeEvent) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async stop() {}
}

export interface ProviderStub {
  url: string;
  seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

async function startProvider(): Promise<ProviderStub> {
  const seen: ProviderStub['seen'] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":[]}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Started {
  identity: AgentIdentity;
  credentials: AgentCredentials;
  brokerKey: string;
  runtime: RecordingRuntime;
}

export interface Stack {
  /** The key the container checks (CONTAINER_KEY unless started with another). */
  containerKey: string;
  cp: FakeControlPlane;
  fx: GitFixture;
  provider: ProviderStub;
  container: ContainerHandle;
  runtimes: RecordingRuntime[];
  /** Every log line the container wrote. */
  lines: string[];
  dataDir: string;
  mayor: Started;
  polecat: Started;
  refinery: Started;
  /** Every credential in play, for "never echoed" checks and the leak scan. */
  secrets(): string[];
  startRequest(identity: AgentIdentity, extra?: Partial<StartAgentRequest>): Promise<StartAgentRequest>;
  stop(): Promise<void>;
}

export const TOWN_ID = 'town_badinput1';
export const identity = (role: AgentIdentity['role'], id: string, rigId: string | null): AgentIdentity => ({
  id,
  townId: TOWN_ID,
  rigId,
  userId: 'user-1',
  role,
  name: role,
  gen: 1,
});

/** `containerKey`: the key the container is started with (default CONTAINER_KEY; the host tests give it a town's derived key). */
export async function startStack(options: { containerKey?: string } = {}): Promise<Stack> {
  const containerKey = options.containerKey ?? CONTAINER_KEY;
  const cp = await startFakeControlPlane({ tokenTtlSeconds: 3600 });
  const fx = await createGitFixture();
  const provider = await startProvider();
  const runtimes: RecordingRuntime[] = [];
  const lines: string[] = [];
  const dataDir = join(fx.root, 'container-data');
  const config = loadConfig({
    GASTOWN_CONTAINER_KEY: containerKey,
    CONTAINER_PORT: '0',
    GASTOWN_BIND_LOOPBACK: '1',
    GASTOWN_DATA_DIR: dataDir,
    GASTOWN_INSTANCE_ID: 'ci_badinput',
    GASTOWN_HEARTBEAT_INTERVAL_SECONDS: '3600',
    GASTOWN_LOG_LEVEL: 'debug',
    TOWN_ENV_OPENAI_API_KEY: PROVIDER_KEY,
  });
  const container = await startContainer(config, {
    stream: { write: (line: string) => lines.push(line) },
    createRuntime: (options) => {
      const r = new RecordingRuntime(options);
      runtimes.push(r);
      return r;
    },
  });
  const rig = { ...fx.rig, gitUrl: fx.originPath };
  const startRequest = async (who: AgentIdentity, extra: Partial<StartAgentRequest> = {}): Promise<StartAgentRequest> => ({
    agent: who,
    controlPlaneUrl: cp.url,
    credentials: await cp.issueCredentials(who),
    runtime: { kind: 'opencode', provider: { kind: 'openai-compatible', baseUrl: `${provider.url}/v1`, model: 'm', apiKeyEnvVar: 'OPENAI_API_KEY' } },
    rig: who.role === 'mayor' ? null : rig,
    bead: who.role === 'polecat' ? { id: 'bd_badinput1', title: 'work', body: 'details' } : null,
    instructions: '',
    prompt: null,
    ...extra,
  });
  const start = async (who: AgentIdentity): Promise<Started> => {
    const body = await startRequest(who);
    const res = await send('POST', `${container.url}/agents`, { headers: { [CONTAINER_KEY_HEADER]: containerKey }, json: body });
    if (res.status !== 200) throw new Error(`stack: start ${who.id} failed: ${res.text}`);
    const runtime = runtimes.at(-1) as RecordingRuntime;
    return { identity: who, credentials: body.credentials, brokerKey: runtime.options.brokerKey, runtime };
  };
  const mayor = await start(identity('mayor', 'ag_mayor0001', null));
  const polecat = await start(identity('polecat', 'ag_polecat01', rig.id));
  const refinery = await start(identity('refinery', 'ag_refinery1', rig.id));
  return {
    containerKey,
    cp,
    fx,
    provider,
    container,
    runtimes,
    lines,
    dataDir,
    mayor,
    polecat,
    refinery,
    startRequest,
    secrets: () => [
      ...new Set([CONTAINER_KEY, containerKey]),
      PROVIDER_KEY,
      ...[mayor, polecat, refinery].flatMap((a) => [a.brokerKey, a.credentials.accessToken, a.credentials.refreshCredential]),
    ],
    async stop() {
      await container.stop();
      await cp.stop();
      await provider.close();
      await fx.cleanup();
    },
  };
}

export const keyHeaders = (extra: Record<string, string> = {}): Record<string, string> => ({ [CONTAINER_KEY_HEADER]: CONTAINER_KEY, ...extra });
export const JSON_HEADERS = { 'content-type': 'application/json' } as const;

export interface Sent {
  status: number;
  text: string;
  body: any;
  headers: Headers;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** JSON-encoded with content-type application/json (unless a content-type header is given). */
  json?: unknown;
  raw?: RequestBody;
}

export async function send(method: string, url: string, opts: SendOptions = {}): Promise<Sent> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: RequestBody | undefined = opts.raw;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] ??= 'application/json';
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers, body };
  if (body instanceof ReadableStream) init.duplex = 'half';
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, text, body: parsed, headers: res.headers };
}

/** One HTTP/1.1 request written byte for byte (Connection: close), for what fetch normalises away. */
export function rawHttp(baseUrl: string, head: string, body: Buffer | string = ''): Promise<Sent> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const response = Buffer.concat(chunks).toString('utf8');
      const split = response.indexOf('\r\n\r\n');
      const headText = response.slice(0, split);
      let bodyText = response.slice(split + 4);
      const headers = new Headers();
      for (const line of headText.split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) bodyText = dechunk(bodyText);
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(bodyText);
      } catch {
        parsed = bodyText;
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headText)?.[1] ?? 0), text: bodyText, body: parsed, headers });
    });
    socket.write(`${head.replace(/\n/g, '\r\n')}\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`);
    socket.end(body);
  });
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

/** A body streamed in 16 KiB chunks (Transfer-Encoding: chunked, no Content-Length). */
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

const LEAK_PATTERNS: ReadonlyArray<{ name: string; pattern: RegExp }> = [
  { name: 'stack frame', pattern: /\bat\s+(?:async\s+)?[\w$.<>[\] ]*\(?[^\s()]+:\d+:\d+\)?/ },
  { name: 'stack line', pattern: /\n\s+at\s/ },
  { name: 'source file', pattern: /\.(?:c|m)?(?:t|j)sx?(?::\d+|\b\))/ },
  { name: 'node_modules', pattern: /node_modules/ },
  { name: 'file URL', pattern: /file:\/\/\/?[\w.-]+\// },
  { name: 'absolute source path', pattern: /\/(?:work|home|root|tmp|src|packages)\/[\w.-]+\// },
  { name: 'raw error class', pattern: /\b(?:TypeError|ReferenceError|SyntaxError|RangeError|ZodError|GitCommandError)\b/ },
];

/** A typed refusal: exactly `{error: {code, message}}`, the code's status, JSON, nothing leaked. */
export function expectRefusal(res: Sent, code: ErrorCode, label: string, secrets: readonly string[] = []): void {
  expect({ case: label, status: res.status, code: res.body?.error?.code }).toEqual({ case: label, status: ERROR_STATUS[code], code });
  expect(Object.keys(res.body as object), label).toEqual(['error']);
  expect(Object.keys(res.body.error).sort(), label).toEqual(['code', 'message']);
  expect(res.headers.get('content-type') ?? '', label).toMatch(/^application\/json/);
  for (const { name, pattern } of LEAK_PATTERNS) expect(pattern.test(res.text), `${label}: response holds a ${name}: ${res.text}`).toBe(false);
  for (const secret of secrets) {
    if (secret.length >= 6) expect(res.text.includes(secret), `${label}: response echoes a presented value`).toBe(false);
  }
}

/** Everything a request could change: agents, control-plane calls, prompts, provider calls, origin refs. */
export async function snapshot(s: Stack): Promise<unknown> {
  const agents = await send('GET', `${s.container.url}/agents`, { headers: { [CONTAINER_KEY_HEADER]: s.containerKey } });
  return {
    agents: agents.body,
    controlPlane: {
      tools: s.cp.requestsFor('tool').length,
      refreshes: s.cp.requestsFor('refresh').length,
      completions: s.cp.completions.length,
      mergeResults: s.cp.mergeResults.length,
    },
    prompts: s.runtimes.map((r) => r.prompts.length),
    runtimes: s.runtimes.length,
    providerRequests: s.provider.seen.length,
    originRefs: await s.fx.git(['-C', s.fx.originPath, 'for-each-ref', '--format=%(refname) %(objectname)']),
    dataDir: await listDir(s.dataDir, 2),
  };
}

/** Names below `dir`, `depth` levels deep (what git or a start would create). */
async function listDir(dir: string, depth: number): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    out.push(e.name);
    if (e.isDirectory() && depth > 1) out.push(...(await listDir(join(dir, e.name), depth - 1)).map((n) => `${e.name}/${n}`));
  }
  return out.sort();
}

export interface RefusalCase {
  name: string;
  code: ErrorCode;
  send: (s: Stack) => Promise<Sent>;
  /** Presented or hostile values that must not come back. */
  echo?: (s: Stack) => string[];
}

/** snapshot → request → typed refusal → identical snapshot (merge jobs drained first). */
export async function runRefusal(s: Stack, c: RefusalCase): Promise<void> {
  const before = await snapshot(s);
  const res = await c.send(s);
  expectRefusal(res, c.code, c.name, [...s.secrets(), ...(c.echo?.(s) ?? [])]);
  await s.container.supervisor.drain();
  expect(await snapshot(s), `state changed: ${c.name}`).toEqual(before);
}

export async function expectHealthy(s: Stack): Promise<void> {
  const res = await send('GET', `${s.container.url}/health`);
  expect({ status: res.status, ok: res.body?.ok }).toEqual({ status: 200, ok: true });
}

// ---- body shapes ---------------------------------------------------------------

export interface BodyShape {
  valid: Record<string, unknown>;
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

/** The body-shape refusals of one JSON route (`headers` carries its credential). */
export function bodyShapeCases(target: {
  name: string;
  method?: string;
  url: (s: Stack) => string;
  headers: (s: Stack) => Record<string, string>;
  shape: (s: Stack) => BodyShape | Promise<BodyShape>;
  required: string | null;
  only?: readonly BodyShapeKind[];
}): RefusalCase[] {
  const method = target.method ?? 'POST';
  const go = (s: Stack, raw: RequestBody, contentType: string | null = 'application/json') =>
    send(method, target.url(s), { headers: { ...target.headers(s), ...(contentType ? { 'content-type': contentType } : {}) }, raw });
  const json = (make: (b: BodyShape) => unknown) => async (s: Stack) => go(s, JSON.stringify(make(await target.shape(s))));
  const withProto = (valid: Record<string, unknown>) => {
    const inner = JSON.stringify(valid).slice(1, -1);
    return `{${inner}${inner ? ',' : ''}"__proto__":{"isAdmin":true}}`;
  };
  const all: Record<BodyShapeKind, Omit<RefusalCase, 'name'> | null> = {
    truncated: { code: 'bad_json', send: (s) => go(s, '{"a": ') },
    utf8: { code: 'bad_json', send: (s) => go(s, new Uint8Array([0x7b, 0x22, 0x61, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])) },
    null: { code: 'validation_failed', send: (s) => go(s, 'null') },
    string: { code: 'validation_failed', send: (s) => go(s, '"{}"') },
    array: { code: 'validation_failed', send: json((b) => [b.valid]) },
    wrongType: { code: 'validation_failed', send: json((b) => ({ ...b.valid, [b.wrongType[0]]: b.wrongType[1] })) },
    unknownField: { code: 'validation_failed', send: json((b) => ({ ...b.valid, isAdmin: true })) },
    proto: { code: 'validation_failed', send: async (s) => go(s, withProto((await target.shape(s)).valid)) },
    textPlain: { code: 'unsupported_media_type', send: async (s) => go(s, JSON.stringify((await target.shape(s)).valid), 'text/plain') },
    noContentType: { code: 'unsupported_media_type', send: async (s) => go(s, new TextEncoder().encode(JSON.stringify((await target.shape(s)).valid)), null) },
    oversizedDeclared: { code: 'payload_too_large', send: (s) => go(s, JSON.stringify({ pad: 'x'.repeat(LIMITS.maxBodyBytes) })) },
    oversizedChunked: { code: 'payload_too_large', send: (s) => go(s, chunkedBody(LIMITS.maxBodyBytes + 32 * 1024)) },
    missingField:
      target.required === null
        ? null
        : {
            code: 'validation_failed',
            send: json((b) => {
              const { [target.required as string]: _dropped, ...rest } = b.valid;
              return rest;
            }),
          },
  };
  return (target.only ?? BODY_SHAPE_KINDS).flatMap((kind) => {
    const c = all[kind];
    return c ? [{ ...c, name: `${target.name}: ${kind}` }] : [];
  });
}
