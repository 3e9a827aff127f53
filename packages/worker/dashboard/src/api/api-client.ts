import type {
  Agent,
  Bead,
  BeadStatus,
  ContainerRestartResponse,
  Convoy,
  CreateBeadRequest,
  CreateConvoyRequest,
  CreateRigRequest,
  DeleteRigResponse,
  Mail,
  MayorMessage,
  MayorMessageResponse,
  MayorSessionResetResponse,
  ModelListResponse,
  NudgeAgentResponse,
  ReissueResponse,
  RestartAgentResponse,
  Rig,
  Town,
  TownEvent,
  UpdateBeadRequest,
  UpdateConvoyRequest,
  UpdateRigRequest,
  UpdateTownConfigRequest,
  UsageGroup,
  UsageResponse,
} from '@gastown/protocol';
import { COLLECT_PAGES, collectPages } from '@gastown/protocol/pagination';
import { ApiError, errorFromBody } from './api-error';
import { pathFor } from './routes';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * The user API, typed. Every call sends the user token as a Bearer header; every failure is an
 * ApiError carrying the server's code and message (never a silent success).
 */
export class ApiClient {
  constructor(
    private readonly token: string,
    private readonly fetchImpl: FetchLike = (input, init) => fetch(input, init),
  ) {}

  async listTowns(): Promise<Town[]> {
    return (await this.request<{ towns: Town[] }>('GET', pathFor('towns'))).towns;
  }
  async createTown(name: string): Promise<Town> {
    return (await this.request<{ town: Town }>('POST', pathFor('towns'), { name })).town;
  }
  async getTown(townId: string): Promise<Town> {
    return (await this.request<{ town: Town }>('GET', pathFor('town', { townId }))).town;
  }
  async updateConfig(townId: string, patch: UpdateTownConfigRequest): Promise<Town> {
    return (await this.request<{ town: Town }>('PATCH', pathFor('townConfig', { townId }), patch)).town;
  }
  /** Model calls, tokens and cost grouped `by`; `from`/`to` in ms (to exclusive), both optional. */
  async usage(townId: string, by: UsageGroup, range: { from?: number; to?: number } = {}): Promise<UsageResponse> {
    const search = new URLSearchParams({ by });
    if (range.from !== undefined) search.set('from', String(range.from));
    if (range.to !== undefined) search.set('to', String(range.to));
    return this.request<UsageResponse>('GET', `${pathFor('usage', { townId })}?${search}`);
  }
  /** The models the town's provider lists; `source: 'none'` (no models) when it lists none or cannot be asked. */
  async listModels(townId: string): Promise<ModelListResponse> {
    return this.request<ModelListResponse>('GET', pathFor('models', { townId }));
  }
  async listRigs(townId: string): Promise<Rig[]> {
    return (await this.request<{ rigs: Rig[] }>('GET', pathFor('rigs', { townId }))).rigs;
  }
  /** A rig with `auth` is checked against its git host first: 422 `git_auth_failed` names what to fix. */
  async addRig(townId: string, rig: CreateRigRequest): Promise<Rig> {
    return (await this.request<{ rig: Rig }>('POST', pathFor('rigs', { townId }), rig)).rig;
  }
  async updateRig(townId: string, rigId: string, patch: UpdateRigRequest): Promise<Rig> {
    return (await this.request<{ rig: Rig }>('PATCH', pathFor('rig', { townId, rigId }), patch)).rig;
  }
  /** The rig is gone: its open work cancelled, its agents stopped, its workspaces removed. */
  async deleteRig(townId: string, rigId: string): Promise<DeleteRigResponse> {
    return this.request<DeleteRigResponse>('DELETE', pathFor('rig', { townId, rigId }));
  }
  async listAgents(townId: string): Promise<Agent[]> {
    return this.listAll(pathFor('agents', { townId }), {}, (page: { agents: Agent[] }) => page.agents);
  }
  async reissueCredentials(townId: string, agentId: string): Promise<ReissueResponse> {
    return this.request<ReissueResponse>('POST', pathFor('reissueCredentials', { townId, agentId }), {});
  }
  /** A new run of the agent (gen + 1); a polecat keeps its bead. */
  async restartAgent(townId: string, agentId: string): Promise<RestartAgentResponse> {
    return this.request<RestartAgentResponse>('POST', pathFor('restartAgent', { townId, agentId }), {});
  }
  /** A short message the running agent sees at its next turn (409 when it is not running). */
  async nudgeAgent(townId: string, agentId: string, text: string): Promise<NudgeAgentResponse> {
    return this.request<NudgeAgentResponse>('POST', pathFor('nudgeAgent', { townId, agentId }), { text });
  }
  async listBeads(townId: string, status?: BeadStatus): Promise<Bead[]> {
    return this.listAll(pathFor('beads', { townId }), status ? { status } : {}, (page: { beads: Bead[] }) => page.beads);
  }
  async createBead(townId: string, bead: CreateBeadRequest): Promise<Bead> {
    return (await this.request<{ bead: Bead }>('POST', pathFor('beads', { townId }), bead)).bead;
  }
  async updateBead(townId: string, beadId: string, patch: UpdateBeadRequest): Promise<Bead> {
    return (await this.request<{ bead: Bead }>('PATCH', pathFor('bead', { townId, beadId }), patch)).bead;
  }
  async closeBead(townId: string, beadId: string, reason?: string): Promise<Bead> {
    return (await this.request<{ bead: Bead }>('POST', pathFor('closeBead', { townId, beadId }), reason ? { reason } : {})).bead;
  }
  /** Open again; a failed bead gets fresh attempts (the dashboard's "Requeue"). */
  async reopenBead(townId: string, beadId: string): Promise<Bead> {
    return (await this.request<{ bead: Bead }>('POST', pathFor('reopenBead', { townId, beadId }), {})).bead;
  }
  async deleteBead(townId: string, beadId: string): Promise<void> {
    await this.request<unknown>('DELETE', pathFor('bead', { townId, beadId }));
  }
  async listConvoys(townId: string): Promise<Convoy[]> {
    return this.listAll(pathFor('convoys', { townId }), {}, (page: { convoys: Convoy[] }) => page.convoys);
  }
  async createConvoy(townId: string, convoy: CreateConvoyRequest): Promise<Convoy> {
    return (await this.request<{ convoy: Convoy }>('POST', pathFor('convoys', { townId }), convoy)).convoy;
  }
  async updateConvoy(townId: string, convoyId: string, patch: UpdateConvoyRequest): Promise<Convoy> {
    return (await this.request<{ convoy: Convoy }>('PATCH', pathFor('convoy', { townId, convoyId }), patch)).convoy;
  }
  async deleteConvoy(townId: string, convoyId: string): Promise<void> {
    await this.request<unknown>('DELETE', pathFor('convoy', { townId, convoyId }));
  }
  async acknowledgeEscalation(townId: string, beadId: string): Promise<Bead> {
    return (await this.request<{ escalation: Bead }>('POST', pathFor('acknowledgeEscalation', { townId, beadId }), {})).escalation;
  }
  async resolveEscalation(townId: string, beadId: string): Promise<Bead> {
    return (await this.request<{ escalation: Bead }>('POST', pathFor('resolveEscalation', { townId, beadId }), {})).escalation;
  }
  async listMail(townId: string): Promise<Mail[]> {
    return this.listAll(pathFor('mail', { townId }), {}, (page: { mail: Mail[] }) => page.mail);
  }
  async listMayorMessages(townId: string, limit = 100): Promise<MayorMessage[]> {
    return (await this.request<{ messages: MayorMessage[] }>('GET', `${pathFor('mayorMessages', { townId })}?limit=${limit}`)).messages;
  }
  async postMayorMessage(townId: string, text: string): Promise<MayorMessageResponse> {
    return this.request<MayorMessageResponse>('POST', pathFor('mayorMessages', { townId }), { text });
  }
  /** Forget the mayor's saved conversation (a running mayor is stopped): the next message starts a new one. */
  async resetMayorSession(townId: string): Promise<MayorSessionResetResponse> {
    return this.request<MayorSessionResetResponse>('DELETE', pathFor('mayorSession', { townId }));
  }
  /** Push the town's settings and stop its container gracefully: its next start takes the current env vars. */
  async restartContainer(townId: string): Promise<ContainerRestartResponse> {
    return this.request<ContainerRestartResponse>('POST', pathFor('restartContainer', { townId }));
  }
  async listEvents(townId: string, after = 0, limit = 500): Promise<TownEvent[]> {
    return (await this.request<{ events: TownEvent[] }>('GET', `${pathFor('events', { townId })}?after=${after}&limit=${limit}`)).events;
  }

  /** Open the town's event stream (the caller reads the body). */
  async openEventStream(townId: string, lastEventId: string | null, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' };
    if (lastEventId !== null) headers['last-event-id'] = lastEventId;
    const res = await this.send(pathFor('eventStream', { townId }), { method: 'GET', headers, signal, cache: 'no-store' });
    if (!res.ok) throw errorFromBody(res.status, await readJson(res));
    return res;
  }

  /** Every item of a paginated list (agents, beads, mail), following `nextCursor` page by page. */
  private listAll<P, T>(path: string, query: Record<string, string>, itemsOf: (page: P) => T[]): Promise<T[]> {
    const fetchPage = async (cursor: string | null) => {
      const search = new URLSearchParams({ ...query, limit: String(COLLECT_PAGES.limit) });
      if (cursor !== null) search.set('cursor', cursor);
      const page = await this.request<P & { nextCursor?: unknown }>('GET', `${path}?${search}`);
      const items = itemsOf(page);
      if (!Array.isArray(items)) throw new ApiError('bad_response', `the server answered ${path} without its list`, 200);
      // An older server sends no nextCursor: its one page is the whole list.
      return { items, nextCursor: typeof page.nextCursor === 'string' ? page.nextCursor : null };
    };
    return collectPages(fetchPage, { runaway: (reason) => new ApiError('bad_response', `the server's list at ${path} is broken: ${reason}`, 200) });
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await this.send(path, init);
    const parsed = await readJson(res);
    if (!res.ok) throw errorFromBody(res.status, parsed);
    if (parsed === undefined) throw new ApiError('bad_response', `the server answered ${res.status} with a body that is not JSON`, res.status);
    return parsed as T;
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(path, init);
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError('network_error', 'the control plane could not be reached', 0);
    }
  }
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
