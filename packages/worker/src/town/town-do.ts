import {
  GastownError,
  systemClock,
  type Agent,
  type AgentClaims,
  type AgentCredentials,
  type Bead,
  type BeadStatus,
  type CompletionRequest,
  type EventBatchRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type Mail,
  type MayorMessage,
  type MayorMessageResponse,
  type MergeResultRequest,
  type ReissueResponse,
  type Rig,
  type ToolName,
  type ToolResult,
  type Town,
  type TownEvent,
  type UpdateTownConfigRequest,
  type CreateRigRequest,
} from '@gastown/protocol';
import { DurableObject } from 'cloudflare:workers';
import { createCredentialService, cryptoRandomBytes, loadAuthConfig } from '../auth';
import { runMigrations } from '../storage/migrate';
import { Sql } from '../storage/sql';
import { assertRole, assertTokenCurrent } from './agent-authorization';
import { nullContainerClientFactory } from './container-client';
import { createIdFactory } from './ids';
import { TownEventRepository } from './repositories/event-repository';
import { TownRepository } from './repositories/town-repository';
import { toRpcResult, type RpcResult } from './rpc-result';
import { TOWN_MIGRATIONS } from './schema';
import type { CreateAgentInput } from './services/agent-service';
import { createTownContext, type TownDeps } from './services/context';
import { createTownServices, type TownServices } from './services/index';
import { defaultTownConfig } from './services/town-service';

export interface InitTownInput {
  id: string;
  name: string;
  ownerId: string;
}

type MergeResultInput = Required<Pick<MergeResultRequest, 'mergeRequestBeadId' | 'outcome'>> & { commitSha: string | null; message: string };
type CompletionInput = { outcome: CompletionRequest['outcome']; reason: string; branch: string | null };

/**
 * One town: its config, rigs, agents, beads, mail and events in SQLite. A thin shell: every
 * method resolves the caller (owner or agent token) and delegates to a service. Every RPC
 * method returns an RpcResult so typed errors survive the boundary.
 */
export class TownDO extends DurableObject<Env> {
  private readonly deps: TownDeps;
  private services: TownServices | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = new Sql(ctx.storage.sql);
    const auth = loadAuthConfig(env as unknown as Record<string, unknown>);
    const transaction = reentrantTransaction(ctx.storage);
    const events = new TownEventRepository(sql, '');
    this.deps = {
      sql,
      transaction,
      clock: systemClock,
      ids: createIdFactory(cryptoRandomBytes),
      logger: console,
      auth,
      containerClientFactory: nullContainerClientFactory,
      credentials: createCredentialService({
        sql,
        config: auth,
        clock: systemClock,
        randomBytes: cryptoRandomBytes,
        recordEvent: (type, agentId, data) => events.insert({ type, agentId, data }, systemClock.now()),
      }),
    };
    void ctx.blockConcurrencyWhile(async () => {
      runMigrations(sql, transaction, TOWN_MIGRATIONS);
      this.deps.credentials.migrate();
      const town = new TownRepository(sql).get();
      if (town) this.services = createTownServices(createTownContext(this.deps, town.id));
    });
  }

  // ---- town and user API ----------------------------------------------------------

  /** Create the town (idempotent for the same id) with its mayor. */
  initTown(input: InitTownInput): Promise<RpcResult<Town>> {
    return this.rpc('initTown', () => {
      const existing = new TownRepository(this.deps.sql).get();
      if (existing) {
        if (existing.id !== input.id || existing.ownerId !== input.ownerId) throw new GastownError('conflict', 'this town object is already in use');
        return existing;
      }
      const services = createTownServices(createTownContext(this.deps, input.id));
      this.deps.transaction(() => {
        services.ctx.repos.town.insert({ ...input, createdAt: this.deps.clock.now(), config: defaultTownConfig(this.deps.auth.policy) });
        services.ctx.event({ type: 'town.created', data: { name: input.name } });
        services.agents.ensureMayor();
      });
      this.services = services;
      return services.town.town();
    });
  }

  getTown(userId: string): Promise<RpcResult<Town>> {
    return this.asOwner('getTown', userId, (s) => s.town.town());
  }
  updateConfig(userId: string, patch: UpdateTownConfigRequest): Promise<RpcResult<Town>> {
    return this.asOwner('updateConfig', userId, (s) => s.town.updateConfig(patch));
  }
  listRigs(userId: string): Promise<RpcResult<Rig[]>> {
    return this.asOwner('listRigs', userId, (s) => s.town.listRigs());
  }
  addRig(userId: string, req: CreateRigRequest): Promise<RpcResult<Rig>> {
    return this.asOwner('addRig', userId, (s) => s.town.addRig(req));
  }
  listAgents(userId: string): Promise<RpcResult<Agent[]>> {
    return this.asOwner('listAgents', userId, (s) => s.agents.list());
  }
  stopAgent(userId: string, agentId: string): Promise<RpcResult<Agent>> {
    return this.asOwner('stopAgent', userId, (s) => s.agents.stop(agentId, 'stopped by user'));
  }
  reissueCredentials(userId: string, agentId: string): Promise<RpcResult<ReissueResponse>> {
    return this.asOwner('reissueCredentials', userId, (s) => s.agents.reissue(agentId));
  }
  listBeads(userId: string, status: BeadStatus | null): Promise<RpcResult<Bead[]>> {
    return this.asOwner('listBeads', userId, (s) => s.work.list(status ? { status } : {}));
  }
  listMail(userId: string): Promise<RpcResult<Mail[]>> {
    return this.asOwner('listMail', userId, (s) => s.mail.list());
  }
  listEvents(userId: string, after: number, limit: number): Promise<RpcResult<TownEvent[]>> {
    return this.asOwner('listEvents', userId, (s) => s.ctx.repos.townEvents.list(after, limit));
  }
  postMayorMessage(userId: string, text: string): Promise<RpcResult<MayorMessageResponse>> {
    return this.asOwner('postMayorMessage', userId, (s) => s.mayor.post(text));
  }
  listMayorMessages(userId: string, limit: number): Promise<RpcResult<MayorMessage[]>> {
    return this.asOwner('listMayorMessages', userId, (s) => s.mayor.list(limit));
  }

  // ---- agent API (claims already verified by the worker; gen checked here) -----------

  refreshCredentials(presented: string): Promise<RpcResult<AgentCredentials>> {
    return this.rpc('refreshCredentials', () => this.town().refresh.refresh(presented));
  }
  heartbeat(claims: AgentClaims, req: HeartbeatRequest): Promise<RpcResult<HeartbeatResponse>> {
    return this.asAgent('heartbeat', claims, (s, agent) => s.lifecycle.heartbeat(agent, req));
  }
  recordAgentEvents(claims: AgentClaims, req: EventBatchRequest): Promise<RpcResult<{ accepted: number; duplicates: number }>> {
    return this.asAgent('recordAgentEvents', claims, (s, agent) => s.lifecycle.recordEvents(agent, req));
  }
  reportCompletion(claims: AgentClaims, req: CompletionInput): Promise<RpcResult<{ ok: true; beadStatus: BeadStatus | null }>> {
    return this.asAgent('reportCompletion', claims, (s, agent) => s.lifecycle.complete(agent, req));
  }
  reportMergeResult(claims: AgentClaims, req: MergeResultInput): Promise<RpcResult<{ mergeRequest: Bead; sourceBead: Bead | null }>> {
    return this.asAgent('reportMergeResult', claims, (s, agent) => {
      assertRole('merge-result', ['refinery'], agent.role);
      return s.work.mergeResult(agent, req);
    });
  }
  callTool<T extends ToolName>(claims: AgentClaims, tool: T, args: unknown): Promise<RpcResult<ToolResult<T>>> {
    return this.asAgent(`tool:${tool}`, claims, (s, agent) => s.tools.call(agent, tool, args as never));
  }

  // ---- internal: dispatch (and tests) ---------------------------------------------------

  /** Create an agent row (no credentials yet). Used by dispatch and by tests. */
  createAgent(input: CreateAgentInput): Promise<RpcResult<Agent>> {
    return this.rpc('createAgent', () => this.town().agents.create(input));
  }
  /** gen + 1 and a new credential family, as a (re)dispatch does. Returns the secrets: hand them only to the container. */
  issueAgentCredentials(agentId: string): Promise<RpcResult<{ agent: Agent; credentials: AgentCredentials }>> {
    return this.rpc('issueAgentCredentials', () => this.town().agents.issueForDispatch(agentId));
  }

  // ---- plumbing ---------------------------------------------------------------------------

  private town(): TownServices {
    if (!this.services) throw new GastownError('not_found', 'town not found');
    return this.services;
  }

  private rpc<T>(operation: string, fn: () => T | Promise<T>): Promise<RpcResult<T>> {
    return toRpcResult(this.deps.logger, operation, fn);
  }

  private asOwner<T>(operation: string, userId: string, fn: (s: TownServices) => T | Promise<T>): Promise<RpcResult<T>> {
    return this.rpc(operation, () => {
      const services = this.town();
      services.town.requireOwner(userId);
      return fn(services);
    });
  }

  private asAgent<T>(
    operation: string,
    claims: AgentClaims,
    fn: (s: TownServices, agent: ReturnType<TownServices['agents']['record']>) => T | Promise<T>,
  ): Promise<RpcResult<T>> {
    return this.rpc(operation, () => {
      const services = this.town();
      const agent = assertTokenCurrent(claims, services.ctx.townId, services.ctx.repos.agents.get(claims.sub));
      return fn(services, agent);
    });
  }
}

/** `transactionSync`, safe to nest: an inner call joins the outer transaction. */
function reentrantTransaction(storage: DurableObjectStorage): <T>(fn: () => T) => T {
  let depth = 0;
  return <T>(fn: () => T): T => {
    if (depth > 0) return fn();
    depth += 1;
    try {
      return storage.transactionSync(fn);
    } finally {
      depth -= 1;
    }
  };
}
