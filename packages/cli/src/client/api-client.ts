/**
 * A typed client of the user API. Every answer is validated with the protocol's schemas, so a
 * command never prints something the server did not really say. The token goes only into the
 * Authorization header, never into an error message.
 */
import {
  AgentListResponseSchema,
  AgentResponseSchema,
  BeadListResponseSchema,
  ConvoyDetailResponseSchema,
  ConvoyListResponseSchema,
  ConvoyResponseSchema,
  DeleteConvoyResponseSchema,
  BeadResponseSchema,
  DeleteBeadResponseSchema,
  COLLECT_PAGES,
  collectPages,
  ContainerRestartResponseSchema,
  CreateUserTokenResponseSchema,
  EventListResponseSchema,
  MayorMessageResponseSchema,
  MayorSessionResetResponseSchema,
  ModelListResponseSchema,
  ReissueResponseSchema,
  RigListResponseSchema,
  RigResponseSchema,
  SseParser,
  TownEventSchema,
  TownListResponseSchema,
  TownResponseSchema,
  UsageResponseSchema,
  USER_API,
  routePath,
  type Agent,
  type Bead,
  type Convoy,
  type ConvoyDetailResponse,
  type ConvoyListResponse,
  type CreateConvoyRequest,
  type DeleteConvoyResponse,
  type UpdateConvoyRequest,
  type CreateBeadRequest,
  type DeleteBeadResponse,
  type UpdateBeadRequest,
  type ContainerRestartResponse,
  type DeleteRigResponse,
  type DeleteTownResponse,
  type EscalationListQuery,
  type EscalationListResponse,
  type RestartAgentResponse,
  type NudgeAgentResponse,
  NudgeAgentResponseSchema,
  DeleteRigResponseSchema,
  DeleteTownResponseSchema,
  EscalationListResponseSchema,
  EscalationResponseSchema,
  RestartAgentResponseSchema,
  type CreateRigRequest,
  type CreateUserTokenResponse,
  type MayorMessageResponse,
  type MayorSessionResetResponse,
  type ModelListResponse,
  type ReissueResponse,
  type Rig,
  type Town,
  type TownEvent,
  type UpdateRigRequest,
  type UsageGroup,
  type UsageResponse,
} from '@gastown/protocol';
import type { z } from 'zod';
import { CliError } from '../errors';
import type { TownConfigPatch } from '../town-config/town-config-keys';
import { errorFromResponse, timeoutError, unreachableError, type ErrorContext } from './http-errors';

/** The bead list's query: filters (each given must match), `limit` (1–500) and the previous page's `nextCursor`. */
export interface BeadPageQuery {
  status?: string;
  rigId?: string;
  label?: string;
  assigneeId?: string;
  limit?: number;
  cursor?: string;
}

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  baseUrl: string;
  /** The user token; null when none is configured (a request that needs one then fails with `token_missing`). */
  token: string | null;
  fetch?: FetchFn;
  /** Per-request time limit (headers and body); the event stream uses it only until its headers arrive. */
  timeoutMs?: number;
}

interface RequestOptions<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  schema: S;
  notFound?: string;
  /** Overrides the user token (the admin endpoint takes the admin secret). */
  bearer?: { value: string; credential: ErrorContext['credential'] };
  signal?: AbortSignal;
  /** Overrides the per-request time limit (a container restart waits for the container to drain). */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/** A restart waits for the container to drain (work committed and pushed) and exit. */
export const RESTART_TIMEOUT_MS = 180_000;

interface SentRequest {
  res: Response;
  stopTimer: () => void;
  release: () => void;
  failure: (err: unknown) => CliError;
}

function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unexpected shape';
}

export class ApiClient {
  readonly baseUrl: string;
  readonly #token: string | null;
  readonly #fetch: FetchFn;
  readonly #timeoutMs: number;

  constructor(opts: ApiClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#token = opts.token;
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async listTowns(): Promise<Town[]> {
    return (await this.#request({ method: 'GET', path: USER_API.towns, schema: TownListResponseSchema })).towns;
  }

  async createTown(name: string): Promise<Town> {
    return (await this.#request({ method: 'POST', path: USER_API.towns, body: { name }, schema: TownResponseSchema })).town;
  }

  async getTown(townId: string): Promise<Town> {
    return (await this.#request({ method: 'GET', path: routePath(USER_API.town, { townId }), schema: TownResponseSchema, notFound: townNotFound(townId) }))
      .town;
  }

  /** `PATCH /api/towns/:townId/config`: only what the patch names changes (provider, models, prices, spend cap…). */
  async updateTownConfig(townId: string, patch: TownConfigPatch): Promise<Town> {
    return (
      await this.#request({
        method: 'PATCH',
        path: routePath(USER_API.townConfig, { townId }),
        body: patch,
        schema: TownResponseSchema,
        notFound: townNotFound(townId),
      })
    ).town;
  }

  /** Model calls and their cost, grouped `by` (`from`/`to`: ms epoch, `to` exclusive; both optional). */
  async usage(townId: string, query: { by?: UsageGroup; from?: number; to?: number } = {}): Promise<UsageResponse> {
    return this.#request({
      method: 'GET',
      path: routePath(USER_API.usage, { townId }),
      query: { by: query.by, from: query.from, to: query.to },
      schema: UsageResponseSchema,
      notFound: townNotFound(townId),
    });
  }

  /** The models the town's provider lists (`source: 'none'` with no models when it lists none or cannot be asked). */
  async listModels(townId: string): Promise<ModelListResponse> {
    return this.#request({ method: 'GET', path: routePath(USER_API.models, { townId }), schema: ModelListResponseSchema, notFound: townNotFound(townId) });
  }

  async listRigs(townId: string): Promise<Rig[]> {
    return (await this.#request({ method: 'GET', path: routePath(USER_API.rigs, { townId }), schema: RigListResponseSchema, notFound: townNotFound(townId) }))
      .rigs;
  }

  /** A rig with `auth` set is checked against its git host before it is stored (422 `git_auth_failed` names the cause). */
  async addRig(townId: string, rig: CreateRigRequest): Promise<Rig> {
    return (
      await this.#request({ method: 'POST', path: routePath(USER_API.rigs, { townId }), body: rig, schema: RigResponseSchema, notFound: townNotFound(townId) })
    ).rig;
  }

  /** `PATCH /api/towns/:townId/rigs/:rigId`: change how a rig authenticates or merges (a new secret is checked like at add). */
  async updateRig(townId: string, rigId: string, patch: UpdateRigRequest): Promise<Rig> {
    return (
      await this.#request({
        method: 'PATCH',
        path: routePath(USER_API.rig, { townId, rigId }),
        body: patch,
        schema: RigResponseSchema,
        notFound: `rig ${rigId} not found in town ${townId} (see \`gastown rig list\`)`,
      })
    ).rig;
  }

  async listAgents(townId: string): Promise<Agent[]> {
    return this.#listAll(
      { path: routePath(USER_API.agents, { townId }), schema: AgentListResponseSchema, notFound: townNotFound(townId) },
      (page) => page.agents,
    );
  }

  async reissueCredentials(townId: string, agentId: string): Promise<ReissueResponse> {
    return this.#request({
      method: 'POST',
      path: routePath(USER_API.reissueCredentials, { townId, agentId }),
      schema: ReissueResponseSchema,
      notFound: `agent ${agentId} not found in town ${townId} (see \`gastown status\`)`,
    });
  }

  async stopAgent(townId: string, agentId: string): Promise<Agent> {
    return (
      await this.#request({
        method: 'POST',
        path: routePath(USER_API.stopAgent, { townId, agentId }),
        schema: AgentResponseSchema,
        notFound: `agent ${agentId} not found in town ${townId} (see \`gastown status\`)`,
      })
    ).agent;
  }

  async listBeads(townId: string, status?: string): Promise<Bead[]> {
    return this.#listAll(
      { path: routePath(USER_API.beads, { townId }), query: { status }, schema: BeadListResponseSchema, notFound: townNotFound(townId) },
      (page) => page.beads,
    );
  }

  /** One page of beads (filters: status, rigId, label, assigneeId; `cursor`: the previous page's nextCursor). */
  async listBeadPage(townId: string, query: BeadPageQuery): Promise<{ beads: Bead[]; nextCursor: string | null }> {
    return this.#request({
      method: 'GET',
      path: routePath(USER_API.beads, { townId }),
      query: { ...query },
      schema: BeadListResponseSchema,
      notFound: townNotFound(townId),
    });
  }

  async getBead(townId: string, beadId: string): Promise<Bead> {
    return (
      await this.#request({
        method: 'GET',
        path: routePath(USER_API.bead, { townId, beadId }),
        schema: BeadResponseSchema,
        notFound: beadNotFound(townId, beadId),
      })
    ).bead;
  }

  async createBead(townId: string, bead: CreateBeadRequest): Promise<Bead> {
    return (
      await this.#request({
        method: 'POST',
        path: routePath(USER_API.beads, { townId }),
        body: bead,
        schema: BeadResponseSchema,
        notFound: townNotFound(townId),
      })
    ).bead;
  }

  /** `PATCH …/beads/:beadId`: what the patch names changes (labels and dependsOn replace the lists). */
  async updateBead(townId: string, beadId: string, patch: UpdateBeadRequest): Promise<Bead> {
    return (
      await this.#request({
        method: 'PATCH',
        path: routePath(USER_API.bead, { townId, beadId }),
        body: patch,
        schema: BeadResponseSchema,
        notFound: beadNotFound(townId, beadId),
      })
    ).bead;
  }

  async closeBead(townId: string, beadId: string, reason?: string): Promise<Bead> {
    return (
      await this.#request({
        method: 'POST',
        path: routePath(USER_API.closeBead, { townId, beadId }),
        body: reason === undefined ? {} : { reason },
        schema: BeadResponseSchema,
        notFound: beadNotFound(townId, beadId),
      })
    ).bead;
  }

  async reopenBead(townId: string, beadId: string): Promise<Bead> {
    return (
      await this.#request({
        method: 'POST',
        path: routePath(USER_API.reopenBead, { townId, beadId }),
        body: {},
        schema: BeadResponseSchema,
        notFound: beadNotFound(townId, beadId),
      })
    ).bead;
  }

  async deleteBead(townId: string, beadId: string): Promise<DeleteBeadResponse> {
    return this.#request({
      method: 'DELETE',
      path: routePath(USER_API.bead, { townId, beadId }),
      schema: DeleteBeadResponseSchema,
      notFound: beadNotFound(townId, beadId),
    });
  }

  // ---- convoys (H6) ----

  /** One page of convoys (`status` filter; `cursor`: the previous page's nextCursor). */
  async listConvoyPage(townId: string, query: { status?: string; limit?: number; cursor?: string }): Promise<ConvoyListResponse> {
    return this.#request({
      method: 'GET',
      path: routePath(USER_API.convoys, { townId }),
      query: { ...query },
      schema: ConvoyListResponseSchema,
      notFound: townNotFound(townId),
    });
  }

  async getConvoy(townId: string, convoyId: string): Promise<ConvoyDetailResponse> {
    return this.#request({
      method: 'GET',
      path: routePath(USER_API.convoy, { townId, convoyId }),
      schema: ConvoyDetailResponseSchema,
      notFound: convoyNotFound(townId, convoyId),
    });
  }

  async createConvoy(townId: string, convoy: CreateConvoyRequest): Promise<Convoy> {
    return (
      await this.#request({
        method: 'POST',
        path: routePath(USER_API.convoys, { townId }),
        body: convoy,
        schema: ConvoyResponseSchema,
        notFound: townNotFound(townId),
      })
    ).convoy;
  }

  /** `PATCH …/convoys/:convoyId`: rename, add or remove beads, or cancel (`status: 'cancelled'`). */
  async updateConvoy(townId: string, convoyId: string, patch: UpdateConvoyRequest): Promise<Convoy> {
    return (
      await this.#request({
        method: 'PATCH',
        path: routePath(USER_API.convoy, { townId, convoyId }),
        body: patch,
        schema: ConvoyResponseSchema,
        notFound: convoyNotFound(townId, convoyId),
      })
    ).convoy;
  }

  async deleteConvoy(townId: string, convoyId: string): Promise<DeleteConvoyResponse> {
    return this.#request({
      method: 'DELETE',
      path: routePath(USER_API.convoy, { townId, convoyId }),
      schema: DeleteConvoyResponseSchema,
      notFound: convoyNotFound(townId, convoyId),
    });
  }

  async postMayorMessage(townId: string, text: string): Promise<MayorMessageResponse> {
    return this.#request({
      method: 'POST',
      path: routePath(USER_API.mayorMessages, { townId }),
      body: { text },
      schema: MayorMessageResponseSchema,
      notFound: townNotFound(townId),
    });
  }

  /** Forget the mayor's saved conversation (and stop a running mayor): its next message starts a new one. */
  async resetMayorSession(townId: string): Promise<MayorSessionResetResponse> {
    return this.#request({
      method: 'DELETE',
      path: routePath(USER_API.mayorSession, { townId }),
      schema: MayorSessionResetResponseSchema,
      notFound: townNotFound(townId),
    });
  }

  /**
   * Push the town's settings and stop its container gracefully (202): the next boot takes the current
   * env vars. The server answers once the container has drained, so the time limit is a longer one.
   */
  async restartContainer(townId: string): Promise<ContainerRestartResponse> {
    return this.#request({
      method: 'POST',
      path: routePath(USER_API.restartContainer, { townId }),
      schema: ContainerRestartResponseSchema,
      notFound: townNotFound(townId),
      timeoutMs: Math.max(this.#timeoutMs, RESTART_TIMEOUT_MS),
    });
  }

  // ---- deleting, restarting an agent, escalations (issue 16 points 3–4) ----

  /** Delete a rig: its agents stopped, its unclosed beads cancelled, its workspaces removed. */
  async deleteRig(townId: string, rigId: string): Promise<DeleteRigResponse> {
    return this.#request({
      method: 'DELETE',
      path: routePath(USER_API.rig, { townId, rigId }),
      schema: DeleteRigResponseSchema,
      notFound: `rig ${rigId} not found in town ${townId} (see \`gastown rig list\`)`,
      timeoutMs: Math.max(this.#timeoutMs, RESTART_TIMEOUT_MS),
    });
  }

  /** Delete a town and everything of it (its container killed, its credentials revoked, its rows and sessions deleted). */
  async deleteTown(townId: string): Promise<DeleteTownResponse> {
    return this.#request({
      method: 'DELETE',
      path: routePath(USER_API.town, { townId }),
      schema: DeleteTownResponseSchema,
      notFound: townNotFound(townId),
      timeoutMs: Math.max(this.#timeoutMs, RESTART_TIMEOUT_MS),
    });
  }

  /** A nudge into a running agent's session (no new turn); 409 when it does not run. */
  async nudgeAgent(townId: string, agentId: string, text: string): Promise<NudgeAgentResponse> {
    return this.#request({
      method: 'POST',
      path: routePath(USER_API.nudgeAgent, { townId, agentId }),
      body: { text },
      schema: NudgeAgentResponseSchema,
      notFound: `agent ${agentId} not found in town ${townId} (see \`gastown status\`)`,
    });
  }

  /** A new run of the agent (gen + 1); a polecat keeps its bead. */
  async restartAgent(townId: string, agentId: string): Promise<RestartAgentResponse> {
    return this.#request({
      method: 'POST',
      path: routePath(USER_API.restartAgent, { townId, agentId }),
      body: {},
      schema: RestartAgentResponseSchema,
      notFound: `agent ${agentId} not found in town ${townId} (see \`gastown status\`)`,
      timeoutMs: Math.max(this.#timeoutMs, RESTART_TIMEOUT_MS),
    });
  }

  async listEscalations(townId: string, query: EscalationListQuery = {}): Promise<EscalationListResponse> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
    const search = params.size > 0 ? `?${params.toString()}` : '';
    return this.#request({
      method: 'GET',
      path: routePath(USER_API.escalations, { townId }) + search,
      schema: EscalationListResponseSchema,
      notFound: townNotFound(townId),
    });
  }

  async acknowledgeEscalation(townId: string, beadId: string, note?: string): Promise<Bead> {
    return (
      await this.#request({
        method: 'POST',
        path: routePath(USER_API.acknowledgeEscalation, { townId, beadId }),
        body: note === undefined ? {} : { note },
        schema: EscalationResponseSchema,
        notFound: `escalation ${beadId} not found in town ${townId} (see \`gastown escalation list\`)`,
      })
    ).escalation;
  }

  async resolveEscalation(townId: string, beadId: string, resolution?: string): Promise<Bead> {
    return (
      await this.#request({
        method: 'POST',
        path: routePath(USER_API.resolveEscalation, { townId, beadId }),
        body: resolution === undefined ? {} : { resolution },
        schema: EscalationResponseSchema,
        notFound: `escalation ${beadId} not found in town ${townId} (see \`gastown escalation list\`)`,
      })
    ).escalation;
  }

  async listEvents(townId: string, after: number, limit: number): Promise<TownEvent[]> {
    return (
      await this.#request({
        method: 'GET',
        path: routePath(USER_API.events, { townId }),
        query: { after, limit },
        schema: EventListResponseSchema,
        notFound: townNotFound(townId),
      })
    ).events;
  }

  async createUserToken(adminSecret: string, userId: string, ttlSeconds?: number): Promise<CreateUserTokenResponse> {
    return this.#request({
      method: 'POST',
      path: USER_API.createUserToken,
      body: ttlSeconds === undefined ? { userId } : { userId, ttlSeconds },
      schema: CreateUserTokenResponseSchema,
      bearer: { value: adminSecret, credential: 'admin secret' },
    });
  }

  /**
   * One connection to the town's event stream, from event id `after`. Yields events until the
   * server closes the stream (it does, every few minutes) or `signal` aborts. Reconnecting is
   * the caller's business (see `followEvents`).
   */
  async *streamEvents(townId: string, after: number, signal?: AbortSignal): AsyncGenerator<TownEvent> {
    const path = routePath(USER_API.eventStream, { townId });
    const what = `GET ${USER_API.eventStream}`;
    const sent = await this.#send(`${path}?after=${after}`, { method: 'GET', headers: { ...this.#authHeader(), accept: 'text/event-stream' } }, what, signal);
    const { res } = sent;
    sent.stopTimer();
    if (!res.ok || !res.body) {
      const body = await res.json().catch(() => null);
      sent.release();
      if (!res.ok) throw errorFromResponse(res.status, body, this.#context(what, 'token', townNotFound(townId)));
      return;
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          if (signal?.aborted) return;
          throw unreachableError(this.baseUrl, err);
        }
        if (chunk.done) return;
        for (const sse of parser.push(decoder.decode(chunk.value, { stream: true }))) {
          let json: unknown;
          try {
            json = JSON.parse(sse.data);
          } catch {
            throw new CliError('bad_response', `the event stream sent an event that is not JSON (id ${sse.id ?? '?'})`);
          }
          const parsed = TownEventSchema.safeParse(json);
          if (!parsed.success) throw new CliError('bad_response', `the event stream sent an unexpected event (${describeIssues(parsed.error)})`);
          yield parsed.data;
        }
      }
    } finally {
      sent.release();
      await reader.cancel().catch(() => undefined);
    }
  }

  #authHeader(bearer?: RequestOptions<z.ZodType>['bearer']): Record<string, string> {
    if (bearer) return { authorization: `Bearer ${bearer.value}` };
    if (this.#token === null) {
      throw new CliError('token_missing', 'no token configured', {
        hint: 'run `npm start` (it writes .gastown/cli.json), or pass --token, set GASTOWN_TOKEN, or `gastown config set token <token>`',
      });
    }
    return { authorization: `Bearer ${this.#token}` };
  }

  #context(what: string, credential: ErrorContext['credential'], notFound?: string): ErrorContext {
    return { baseUrl: this.baseUrl, what, credential, notFound };
  }

  /**
   * fetch with a time limit and the caller's abort signal (Ctrl-C, --timeout). `stopTimer()` ends
   * the time limit (a stream, once its headers arrive); `release()` also detaches the signal
   * (when the body has been read or the stream is over) — until then an abort cancels the body.
   */
  async #send(path: string, init: RequestInit, what: string, signal?: AbortSignal, timeoutMs = this.#timeoutMs): Promise<SentRequest> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    if (signal?.aborted) controller.abort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const stopTimer = () => clearTimeout(timer);
    const release = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const failure = (err: unknown): CliError => {
      release();
      if (signal?.aborted) return new CliError('interrupted', 'interrupted');
      if (timedOut) return timeoutError(this.baseUrl, what, timeoutMs);
      return unreachableError(this.baseUrl, err);
    };
    try {
      const res = await this.#fetch(`${this.baseUrl}${path}`, { ...init, signal: controller.signal });
      return { res, stopTimer, release, failure };
    } catch (err) {
      throw failure(err);
    }
  }

  /** Every item of a paginated list (agents, beads), following `nextCursor` page by page. */
  async #listAll<S extends z.ZodType<{ nextCursor: string | null }>, T>(
    opts: Omit<RequestOptions<S>, 'method'>,
    itemsOf: (page: z.infer<S>) => T[],
  ): Promise<T[]> {
    const fetchPage = async (cursor: string | null) => {
      const page = await this.#request({ ...opts, method: 'GET', query: { ...opts.query, limit: COLLECT_PAGES.limit, cursor: cursor ?? undefined } });
      return { items: itemsOf(page), nextCursor: page.nextCursor };
    };
    return collectPages(fetchPage, {
      runaway: (reason) => new CliError('bad_response', `unexpected answer to GET ${opts.path} from ${this.baseUrl}: ${reason}`),
    });
  }

  async #request<S extends z.ZodType>(opts: RequestOptions<S>): Promise<z.infer<S>> {
    const what = `${opts.method} ${opts.path}`;
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(opts.query ?? {})) if (value !== undefined) search.set(key, String(value));
    const qs = search.size > 0 ? `?${search}` : '';
    const headers: Record<string, string> = { ...this.#authHeader(opts.bearer), accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const init: RequestInit = { method: opts.method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) };
    const { res, release, failure } = await this.#send(`${opts.path}${qs}`, init, what, opts.signal, opts.timeoutMs);
    let json: unknown = null;
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw failure(err);
    } finally {
      release();
    }
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = null;
    }
    if (!res.ok) throw errorFromResponse(res.status, json, this.#context(what, opts.bearer?.credential ?? 'token', opts.notFound));
    const parsed = opts.schema.safeParse(json);
    if (!parsed.success) {
      throw new CliError(
        'bad_response',
        `unexpected answer to ${what} from ${this.baseUrl} (${describeIssues(parsed.error)}): is the CLI the same version as the server?`,
        {
          status: res.status,
        },
      );
    }
    return parsed.data;
  }
}

export function beadNotFound(townId: string, beadId: string): string {
  return `bead ${beadId} not found in town ${townId} (see \`gastown bead list\`)`;
}

export function convoyNotFound(townId: string, convoyId: string): string {
  return `convoy ${convoyId} not found in town ${townId} (see \`gastown convoy list\`)`;
}

export function townNotFound(townId: string): string {
  return `town ${townId} not found (see \`gastown town list\`)`;
}
