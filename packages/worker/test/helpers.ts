/**
 * Reusable helpers for worker tests: HTTP calls through the real worker entry, user tokens via
 * the admin endpoint, towns, rigs, agents with credentials (through the TownDO's internal
 * createAgent + issueAgentCredentials, as dispatch will do), and whole-town snapshots.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import type { Agent, AgentCredentials, AgentRole, Bead, Rig, Town } from '@gastown/protocol';
import { expect } from 'vitest';
import { directoryFromEnv, type TownRpc } from '../src/http/directory';
import { unwrap } from '../src/town/rpc-result';

/** https: the origin a town remembers is the control-plane URL handed to containers, which must be https (or loopback). */
export const BASE = 'https://gastown.test';

/** A model provider for towns in tests (no model is ever called: containers are fakes or absent). */
export const TEST_PROVIDER = { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', model: 'fake-model', apiKeyEnvVar: 'LLM_API_KEY' } as const;

export interface CallOptions {
  token?: string | null;
  /** JSON-encoded unless `rawBody` is given. */
  body?: unknown;
  rawBody?: BodyInit;
  headers?: Record<string, string>;
}

export interface CallResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One request through the worker's default export. */
export async function call<T = any>(method: string, path: string, opts: CallOptions = {}): Promise<CallResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: BodyInit | undefined = opts.rawBody;
  if (body === undefined && opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // leave as text (e.g. SSE)
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Assert a typed error response. */
export function expectError(res: CallResult, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(typeof res.body.error.message).toBe('string');
}

export function adminSecret(): string {
  const secret = (env as unknown as Record<string, string | undefined>).GASTOWN_ADMIN_SECRET;
  if (!secret) throw new Error('GASTOWN_ADMIN_SECRET missing from test bindings');
  return secret;
}

let counter = 0;
/** A name unique within this test file's isolate. */
export function uniqueName(prefix = 't'): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.floor(Math.random() * 1e6)}`;
}

export async function createUserToken(userId = uniqueName('user')): Promise<string> {
  const res = await call('POST', '/api/admin/user-tokens', { token: adminSecret(), body: { userId } });
  expect(res.status).toBe(201);
  return res.body.token as string;
}

export async function createTown(userToken: string, name = uniqueName('town')): Promise<Town> {
  const res = await call('POST', '/api/towns', { token: userToken, body: { name } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.town as Town;
}

export async function addRig(userToken: string, townId: string, name = uniqueName('rig')): Promise<Rig> {
  const res = await call('POST', `/api/towns/${townId}/rigs`, { token: userToken, body: { name, gitUrl: 'https://example.com/repo.git' } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.rig as Rig;
}

export function townStub(townId: string): TownRpc {
  return directoryFromEnv(env).town(townId);
}

export interface AgentWithCredentials {
  agent: Agent;
  credentials: AgentCredentials;
  token: string;
}

/** A polecat's own branch, gt/<agentId>/<beadId>: the only one its gt_done accepts. */
export function ownBranch(polecat: AgentWithCredentials): string {
  return `gt/${polecat.agent.id}/${polecat.agent.beadId ?? 'no-bead'}`;
}

/** Create an agent row and issue its credentials (what dispatch will do). */
export async function spawnAgent(
  townId: string,
  input: { role: Exclude<AgentRole, 'mayor'>; rigId: string; beadId?: string | null; name?: string },
): Promise<AgentWithCredentials> {
  const town = townStub(townId);
  const agent = unwrap(await town.createAgent({ role: input.role, rigId: input.rigId, beadId: input.beadId ?? null, name: input.name }));
  return issue(townId, agent.id);
}

/** (Re)issue credentials for an existing agent (gen + 1). */
export async function issue(townId: string, agentId: string): Promise<AgentWithCredentials> {
  const issued = unwrap(await townStub(townId).issueAgentCredentials(agentId));
  return { agent: issued.agent, credentials: issued.credentials, token: issued.credentials.accessToken };
}

/** Dispatch the town's mayor (created with the town). */
export async function dispatchMayor(userToken: string, townId: string): Promise<AgentWithCredentials> {
  const res = await call('GET', `/api/towns/${townId}/agents`, { token: userToken });
  const mayor = (res.body.agents as Agent[]).find((a) => a.role === 'mayor');
  if (!mayor) throw new Error('town has no mayor');
  return issue(townId, mayor.id);
}

export function toolPath(townId: string, agentId: string, tool: string): string {
  return `/agent/towns/${townId}/agents/${agentId}/tools/${tool}`;
}

export async function callTool<T = any>(who: AgentWithCredentials, tool: string, args: unknown = {}): Promise<CallResult<T>> {
  return call<T>('POST', toolPath(who.agent.townId, who.agent.id, tool), { token: who.token, body: args });
}

/** The mayor slings an issue bead into a rig. */
export async function sling(mayor: AgentWithCredentials, rigId: string, title = 'do the thing'): Promise<Bead> {
  const res = await callTool(mayor, 'sling', { rigId, title, body: 'details' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.bead as Bead;
}

/** A town with a rig, a dispatched mayor, a polecat on a slung bead and a refinery. */
export interface TownFixture {
  userToken: string;
  town: Town;
  rig: Rig;
  mayor: AgentWithCredentials;
  polecat: AgentWithCredentials;
  refinery: AgentWithCredentials;
  bead: Bead;
}

export async function setupTown(userToken?: string): Promise<TownFixture> {
  const token = userToken ?? (await createUserToken());
  const town = await createTown(token);
  const rig = await addRig(token, town.id);
  const mayor = await dispatchMayor(token, town.id);
  const bead = await sling(mayor, rig.id);
  const polecat = await spawnAgent(town.id, { role: 'polecat', rigId: rig.id, beadId: bead.id });
  const refinery = await spawnAgent(town.id, { role: 'refinery', rigId: rig.id });
  return { userToken: token, town, rig, mayor, polecat, refinery, bead };
}

/** Every row of every table of a town's SQLite (credential tables included), for before/after comparisons. */
export async function snapshotTown(townId: string): Promise<Record<string, unknown[]>> {
  const stub = env.TOWN.get(env.TOWN.idFromName(townId));
  return runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    const tables = sql
      .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name`)
      .toArray()
      .map((r) => r.name);
    const out: Record<string, unknown[]> = {};
    for (const table of tables) out[table] = sql.exec(`SELECT * FROM "${table}" ORDER BY rowid`).toArray();
    return out;
  });
}

/** Read a streamed body (an SSE stream) until its text holds `needle`, or the stream ends. */
export async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, needle: string): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(needle)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}
