/**
 * Thin typed clients for the running stack: the user API of the worker (Bearer user token)
 * and the container host's inspection API (container key). Responses are validated with the
 * protocol's schemas, so a contract drift fails loudly in the e2e tests.
 */
import {
  AgentListResponseSchema,
  BeadListResponseSchema,
  COLLECT_PAGES,
  collectPages,
  CONTAINER_KEY_HEADER,
  deriveTownContainerKey,
  HOST_API,
  hostContainerPath,
  CreateUserTokenResponseSchema,
  EventListResponseSchema,
  MailListResponseSchema,
  MayorMessageResponseSchema,
  RigListResponseSchema,
  RigResponseSchema,
  routePath,
  TownListResponseSchema,
  TownResponseSchema,
  USER_API,
  type Agent,
  type Bead,
  type BeadStatus,
  type CreateRigRequest,
  type Mail,
  type MayorMessageResponse,
  type Rig,
  type Town,
  type TownEvent,
  type UpdateTownConfigRequest,
} from '@gastown/protocol';
import type { z } from 'zod';
import { StackError, StackHttpError } from './errors';

export interface HttpResult {
  status: number;
  body: unknown;
  headers: Headers;
}

/** One JSON request; never throws on a status (network errors do throw). */
export async function requestJson(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  let body: string | undefined;
  if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body, signal: AbortSignal.timeout(init.timeoutMs ?? 60_000) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** The `error.code` of a `{error:{code,message}}` body, or null. */
export function errorCodeOf(body: unknown): string | null {
  const error = (body as { error?: { code?: unknown } } | null)?.error;
  return typeof error?.code === 'string' ? error.code : null;
}

function expectStatus<T>(what: string, result: HttpResult, status: number, schema: z.ZodType<T>): T {
  if (result.status !== status) {
    const message = (result.body as { error?: { message?: unknown } } | null)?.error?.message;
    throw new StackHttpError(what, result.status, errorCodeOf(result.body), typeof message === 'string' ? message.slice(0, 300) : '');
  }
  return schema.parse(result.body);
}

/** Mint a user token through the admin endpoint. */
export async function createUserToken(
  workerUrl: string,
  adminSecret: string,
  userId: string,
  ttlSeconds?: number,
): Promise<{ token: string; expiresAt: number }> {
  const result = await requestJson(workerUrl + USER_API.createUserToken, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminSecret}` },
    body: ttlSeconds === undefined ? { userId } : { userId, ttlSeconds },
  });
  const parsed = expectStatus('create user token', result, 201, CreateUserTokenResponseSchema);
  return { token: parsed.token, expiresAt: parsed.expiresAt };
}

export class UserApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  request(method: string, path: string, body?: unknown): Promise<HttpResult> {
    return requestJson(this.baseUrl + path, { method, headers: { authorization: `Bearer ${this.token}` }, body });
  }

  async towns(): Promise<Town[]> {
    return expectStatus('list towns', await this.request('GET', USER_API.towns), 200, TownListResponseSchema).towns;
  }
  async createTown(name: string): Promise<Town> {
    return expectStatus('create town', await this.request('POST', USER_API.towns, { name }), 201, TownResponseSchema).town;
  }
  async town(townId: string): Promise<Town> {
    return expectStatus('get town', await this.request('GET', routePath(USER_API.town, { townId })), 200, TownResponseSchema).town;
  }
  async updateConfig(townId: string, patch: UpdateTownConfigRequest): Promise<Town> {
    return expectStatus('update town config', await this.request('PATCH', routePath(USER_API.townConfig, { townId }), patch), 200, TownResponseSchema).town;
  }
  async createRig(townId: string, rig: CreateRigRequest): Promise<Rig> {
    return expectStatus('create rig', await this.request('POST', routePath(USER_API.rigs, { townId }), rig), 201, RigResponseSchema).rig;
  }
  async rigs(townId: string): Promise<Rig[]> {
    return expectStatus('list rigs', await this.request('GET', routePath(USER_API.rigs, { townId })), 200, RigListResponseSchema).rigs;
  }
  async agents(townId: string): Promise<Agent[]> {
    return this.listAll('list agents', routePath(USER_API.agents, { townId }), {}, AgentListResponseSchema, (page) => page.agents);
  }
  async beads(townId: string, status?: BeadStatus): Promise<Bead[]> {
    return this.listAll('list beads', routePath(USER_API.beads, { townId }), status ? { status } : {}, BeadListResponseSchema, (page) => page.beads);
  }
  async mail(townId: string): Promise<Mail[]> {
    return this.listAll('list mail', routePath(USER_API.mail, { townId }), {}, MailListResponseSchema, (page) => page.mail);
  }
  /** Every item of a paginated list (agents, beads, mail), following `nextCursor` page by page. */
  private listAll<P extends { nextCursor: string | null }, T>(
    what: string,
    path: string,
    query: Record<string, string>,
    schema: z.ZodType<P>,
    itemsOf: (page: P) => T[],
  ): Promise<T[]> {
    const fetchPage = async (cursor: string | null) => {
      const search = new URLSearchParams({ ...query, limit: String(COLLECT_PAGES.limit) });
      if (cursor !== null) search.set('cursor', cursor);
      const page = expectStatus(what, await this.request('GET', `${path}?${search}`), 200, schema);
      return { items: itemsOf(page), nextCursor: page.nextCursor };
    };
    return collectPages(fetchPage, { runaway: (reason) => new StackError('stack_http_failed', `${what}: ${reason}`) });
  }
  async sendMayorMessage(townId: string, text: string): Promise<MayorMessageResponse> {
    return expectStatus('mayor message', await this.request('POST', routePath(USER_API.mayorMessages, { townId }), { text }), 201, MayorMessageResponseSchema);
  }
  async events(townId: string, after = 0, limit = 500): Promise<TownEvent[]> {
    const path = `${routePath(USER_API.events, { townId })}?after=${after}&limit=${limit}`;
    return expectStatus('list events', await this.request('GET', path), 200, EventListResponseSchema).events;
  }
  /** Every event after `after`, paging through. */
  async allEvents(townId: string, after = 0): Promise<TownEvent[]> {
    const out: TownEvent[] = [];
    let cursor = after;
    for (;;) {
      const page = await this.events(townId, cursor, 500);
      out.push(...page);
      if (page.length < 500) return out;
      cursor = page.at(-1)!.id;
    }
  }
}

/** One inbound request the host forwarded to a town container. */
export interface HostInboundRecord {
  at: number;
  method: string;
  path: string;
  instanceId: string;
}

/** `GET /towns/:townId/state` of the container host (never wakes the container). */
export interface HostTownState {
  running: boolean;
  instanceId: string | null;
  pid: number | null;
  startedAt: number | null;
  lastInboundAt: number | null;
  /** Last time the control plane renewed the sleep window for a working agent (no request to the container). */
  lastKeptAwakeAt: number | null;
  keepAwakes: number;
  sleepAfterMs: number;
  starts: number;
  sleeps: number;
  inbound: HostInboundRecord[];
}

export class HostApi {
  constructor(
    readonly baseUrl: string,
    private readonly containerKey: string,
  ) {}

  private headers(): Record<string, string> {
    return { [CONTAINER_KEY_HEADER]: this.containerKey };
  }

  async state(townId: string): Promise<HostTownState> {
    const result = await requestJson(`${this.baseUrl}${routePath(HOST_API.state, { townId })}`, { headers: this.headers() });
    if (result.status !== 200) throw new StackHttpError('host state', result.status, errorCodeOf(result.body), '');
    return result.body as HostTownState;
  }

  /** SIGKILL the town's container (crash injection). */
  async kill(townId: string): Promise<boolean> {
    const result = await requestJson(`${this.baseUrl}${routePath(HOST_API.kill, { townId })}`, { method: 'POST', headers: this.headers() });
    if (result.status !== 200) throw new StackHttpError('host kill', result.status, errorCodeOf(result.body), '');
    return (result.body as { killed: boolean }).killed;
  }

  /**
   * A request forwarded to the town's container (CONTAINER_API path such as `/agents`), with the
   * town's own container key (derived from the deployment's: the only key that container accepts).
   * It is an inbound request: it wakes a sleeping container and counts as activity.
   */
  async container(townId: string, method: string, path: string, body?: unknown): Promise<HttpResult> {
    const headers = { [CONTAINER_KEY_HEADER]: await deriveTownContainerKey(this.containerKey, townId) };
    return requestJson(`${this.baseUrl}${hostContainerPath(townId, path)}`, { method, headers, body });
  }
}
