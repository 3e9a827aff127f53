import {
  codeOf,
  GastownError,
  systemClock,
  type Agent,
  type AgentClaims,
  type AgentCredentials,
  type Bead,
  type BeadStatus,
  type ContainerRestartResponse,
  type Convoy,
  type ConvoyDetailResponse,
  type ConvoyStatus,
  type CompletionRequest,
  type EventBatchRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type Mail,
  type MayorMessage,
  type MayorMessageResponse,
  type MergeResultRequest,
  MODEL_USAGE_EVENT,
  type ModelListResponse,
  type ReissueResponse,
  type Rig,
  type SessionSnapshotRecord,
  type ToolName,
  type ToolResult,
  type Town,
  type TownEvent,
  type UpdateTownConfigRequest,
  type UsageQuery,
  type UsageResponse,
  type CreateRigRequest,
  type DeleteRigResponse,
  type RestartAgentResponse,
  type GitTokenGrant,
  type UpdateRigRequest,
} from '@gastown/protocol';
import { DurableObject } from 'cloudflare:workers';
import { createCredentialService, cryptoRandomBytes } from '../auth';
import { loadWorkerConfig } from '../config';
import { GitTokenCache, type FetchFn } from '../git-host';
import { runMigrations } from '../storage/migrate';
import { Sql } from '../storage/sql';
import { assertMayReportUsage, assertRole, assertTokenCurrent, assertToolAllowed } from './agent-authorization';
import { storageAlarms, type AlarmScheduler } from './alarm-scheduler';
import type { ContainerClientFactory } from './container-client';
import type { ContainerStoppedNotice } from './container/container-rpc';
import { toAgent } from './credential-health';
import { issueAtDispatch, refreshAgentCredentials } from './credentials';
import { LivenessMemory } from './liveness-memory';
import { pruneEvents } from './event-retention';
import { createIdFactory } from './ids';
import { mapPage, type Page, type PageRequest } from './list-page';
import { TownEventRepository } from './repositories/event-repository';
import { TownRepository } from './repositories/town-repository';
import { redactEventBatch, redactText } from './redact-event';
import { describeUnexpected, toRpcResult, type RpcResult } from './rpc-result';
import { TOWN_MIGRATIONS } from './schema';
import { ToolRateLimiter } from './tool-rate-limit';
import type { BeadFieldsPatch, BeadPageFilter } from './repositories/bead-repository';
import type { StoredSession } from './repositories/session-repository';
import type { NewIssueInput as CreateBeadInput } from './services/bead-service';
import type { ConvoyEdit, NewConvoyInput } from './services/convoy-service';
import type { CreateAgentInput } from './services/agent-service';
import type { TownDeletionPlan } from './services/deletion-service';
import type { EscalationFilter } from './services/escalation-service';
import type { MayorSessionReset } from './services/session-service';
import { createTownContext, type TownDeps } from './services/context';
import { createTownServices, type TownServices } from './services/index';
import type { WebhookInput, WebhookResult } from './services/pull-request-service';
import { statusFromHeartbeat } from './services/lifecycle-service';
import { RECONCILE_NEUTRAL_TOOLS } from './services/tool-service';
import { defaultTownConfig } from './services/town-service';

export interface InitTownInput {
  id: string;
  name: string;
  ownerId: string;
  /** Origin of the user's request: the control-plane URL containers call back to, unless GASTOWN_PUBLIC_URL is set. */
  origin?: string | null;
}

/**
 * What a TownDO is built with besides its state and env; each defaults to the real thing. workerd
 * constructs it with (state, env) only: the test worker (test/worker-entry.ts) subclasses it to
 * pass a fake container and a manual alarm.
 */
export interface TownDOOptions {
  containerClientFactory?: ContainerClientFactory;
  alarms?: AlarmScheduler;
  /** How the town reaches git hosts (private rigs, pull requests); default the global fetch. */
  fetch?: FetchFn;
}

type MergeResultInput = Required<Pick<MergeResultRequest, 'mergeRequestBeadId' | 'outcome'>> & { commitSha: string | null; message: string };
type CompletionInput = { outcome: CompletionRequest['outcome']; reason: string; branch: string | null };

/**
 * One town: its config, rigs, agents, beads, mail and events in SQLite. A thin shell: every
 * method resolves the caller (owner or agent token) and delegates to a service. Every RPC
 * method returns an RpcResult so typed errors survive the boundary. Its one alarm runs the
 * reconciler (reconciler/), re-armed after every change to the earliest time it must look again.
 */
export class TownDO extends DurableObject<Env> {
  private readonly deps: TownDeps;
  private readonly alarms: AlarmScheduler;
  /** Per-agent allowances of the metered tools (in memory: a restart of the object refills them). */
  private readonly toolLimiter = new ToolRateLimiter(systemClock);
  private services: TownServices | null = null;
  /** The town was deleted in this object's lifetime: its storage holds no tables any more. */
  private deleted = false;
  /**
   * A deletion is under way (its container is being destroyed): every other call is refused and the
   * alarm does nothing, so no message, dispatch or reconciler pass starts a container for a town
   * that is going away. Reset if the deletion fails (the user may retry).
   */
  private deleting = false;
  private reconciling = false;

  constructor(ctx: DurableObjectState, env: Env, options: TownDOOptions = {}) {
    super(ctx, env);
    const sql = new Sql(ctx.storage.sql);
    const config = loadWorkerConfig(env);
    const auth = config.auth;
    const transaction = reentrantTransaction(ctx.storage);
    const events = new TownEventRepository(sql, '');
    this.deps = {
      sql,
      transaction,
      clock: systemClock,
      ids: createIdFactory(cryptoRandomBytes),
      logger: console,
      auth,
      containerClientFactory: options.containerClientFactory ?? config.containerClientFactory,
      settings: config.town,
      inFlight: new Set<string>(),
      reissuing: new Map<string, number>(),
      gitTokens: new GitTokenCache(systemClock),
      // heartbeat times not yet in storage; its start time is the floor of the restart rule
      liveness: new LivenessMemory(systemClock.now()),
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      credentials: createCredentialService({
        sql,
        config: auth,
        clock: systemClock,
        randomBytes: cryptoRandomBytes,
        recordEvent: (type, agentId, data) => events.insert({ type, agentId, data }, systemClock.now()),
      }),
    };
    this.alarms = options.alarms ?? storageAlarms(ctx.storage);
    void ctx.blockConcurrencyWhile(async () => {
      runMigrations(sql, transaction, TOWN_MIGRATIONS);
      const town = new TownRepository(sql).get();
      if (town) this.services = createTownServices(createTownContext(this.deps, town.id));
    });
  }

  // ---- town and user API ----------------------------------------------------------

  /** Create the town (idempotent for the same id) with its mayor. */
  initTown(input: InitTownInput): Promise<RpcResult<Town>> {
    return this.rpc('initTown', () => {
      if (this.deleted) throw new GastownError('not_found', 'town not found');
      const existing = new TownRepository(this.deps.sql).get();
      if (existing) {
        if (existing.id !== input.id || existing.ownerId !== input.ownerId) throw new GastownError('conflict', 'this town object is already in use');
        return existing;
      }
      const services = createTownServices(createTownContext(this.deps, input.id));
      this.deps.transaction(() => {
        services.ctx.repos.town.insert({
          id: input.id,
          name: input.name,
          ownerId: input.ownerId,
          createdAt: this.deps.clock.now(),
          config: defaultTownConfig(this.deps.auth.policy),
        });
        services.ctx.event({ type: 'town.created', data: { name: input.name } });
        services.agents.ensureMayor();
        services.dispatch.rememberOrigin(input.origin);
      });
      this.services = services;
      return services.town.town();
    });
  }

  getTown(userId: string): Promise<RpcResult<Town>> {
    return this.asOwner('getTown', userId, (s) => s.town.town());
  }
  /** Update the config; the container runtime gets new env vars / sleepAfter at once (for its next boot). */
  updateConfig(userId: string, patch: UpdateTownConfigRequest, origin: string | null = null): Promise<RpcResult<Town>> {
    return this.asOwner(
      'updateConfig',
      userId,
      async (s) => {
        s.dispatch.rememberOrigin(origin);
        const town = s.town.updateConfig(patch);
        // a cap raised, removed or lowered (or new prices): capped or resumed now; the re-armed alarm acts on it at once
        s.spendCap.evaluate();
        if (patch.envVars !== undefined || patch.sleepAfterSeconds !== undefined) await this.pushContainerSettings(s);
        return town;
      },
      { rearm: true },
    );
  }
  listRigs(userId: string): Promise<RpcResult<Rig[]>> {
    return this.asOwner('listRigs', userId, (s) => s.town.listRigs());
  }
  /** Add a rig; a rig with credentials is checked against its git host first (422 git_auth_failed, nothing stored). */
  addRig(userId: string, req: CreateRigRequest): Promise<RpcResult<Rig>> {
    return this.asOwner('addRig', userId, (s) => s.rigs.add(req));
  }
  /** Delete a rig: its agents stopped, its unclosed beads cancelled, its workspaces removed, its rows gone (deletion-service.ts). */
  deleteRig(userId: string, rigId: string): Promise<RpcResult<DeleteRigResponse>> {
    return this.asOwner('deleteRig', userId, (s) => s.deletion.deleteRig(rigId), { rearm: true });
  }
  /**
   * Delete the town: its container destroyed and every credential revoked (deletion-service.ts),
   * then this object's whole storage (every row, the alarm). Afterwards its id answers 404 and its
   * agents' tokens 401. The worker deletes the returned session objects and the registry entry.
   */
  deleteTown(userId: string): Promise<RpcResult<TownDeletionPlan>> {
    return this.asOwner('deleteTown', userId, async (s) => {
      this.deleting = true;
      let plan: TownDeletionPlan;
      try {
        plan = await s.deletion.prepareTownDeletion();
      } finally {
        // deleted (below) or not: either way no longer "under way"
        this.deleting = false;
      }
      this.services = null;
      this.deleted = true;
      this.deps.inFlight.clear();
      this.deps.reissuing.clear();
      await this.alarms.clear();
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      return plan;
    });
  }
  /** Change a rig's auth, merge strategy or provider (a new credential is checked like at add). */
  updateRig(userId: string, rigId: string, req: UpdateRigRequest): Promise<RpcResult<Rig>> {
    // a raised polecat limit lets waiting beads go at once
    return this.asOwner('updateRig', userId, (s) => s.rigs.update(rigId, req), { rearm: true });
  }
  /** The models the town's provider lists (this object holds the key and asks); never an error past ownership. */
  listModels(userId: string): Promise<RpcResult<ModelListResponse>> {
    return this.asOwner('listModels', userId, (s) => s.town.providerModels());
  }
  listAgents(userId: string, page: PageRequest): Promise<RpcResult<Page<Agent>>> {
    return this.asOwner('listAgents', userId, (s) => {
      const now = s.ctx.clock.now();
      const sessions = s.ctx.repos.sessions.summaries();
      return mapPage(s.ctx.repos.agents.page(page), (a) => toAgent(a, s.ctx.townId, now, sessions.get(a.id) ?? null));
    });
  }
  stopAgent(userId: string, agentId: string): Promise<RpcResult<Agent>> {
    return this.asOwner('stopAgent', userId, (s) => s.agents.stop(agentId, 'stopped by user'), { rearm: true });
  }
  /** A new run of the agent (gen + 1); a polecat keeps its bead (agent-restart-service.ts). */
  /** A nudge into a live agent's session (nudge-service.ts): it sees the text at its next turn. */
  nudgeAgent(userId: string, agentId: string, text: string): Promise<RpcResult<Agent>> {
    return this.asOwner('nudgeAgent', userId, (s) => s.nudges.nudge(agentId, text, { kind: 'user' }));
  }

  restartAgent(userId: string, agentId: string): Promise<RpcResult<RestartAgentResponse>> {
    return this.asOwner('restartAgent', userId, (s) => s.agentRestart.restart(agentId), { rearm: true });
  }
  reissueCredentials(userId: string, agentId: string): Promise<RpcResult<ReissueResponse>> {
    return this.asOwner('reissueCredentials', userId, (s) => s.agents.reissue(agentId));
  }
  /** Beads matching every filter given (status, rig, label, assignee), one page. */
  listBeads(userId: string, filter: BeadPageFilter, page: PageRequest): Promise<RpcResult<Page<Bead>>> {
    return this.asOwner('listBeads', userId, (s) => s.beads.page(filter, page));
  }
  getBead(userId: string, beadId: string): Promise<RpcResult<Bead>> {
    return this.asOwner('getBead', userId, (s) => s.beads.get(beadId));
  }
  /** A new open issue bead (bead-service.ts); the alarm looks at it at once. */
  createBead(userId: string, req: CreateBeadInput): Promise<RpcResult<Bead>> {
    return this.asOwner('createBead', userId, (s) => s.beads.create({ kind: 'user' }, req), { rearm: true });
  }
  updateBead(userId: string, beadId: string, patch: BeadFieldsPatch): Promise<RpcResult<Bead>> {
    return this.asOwner('updateBead', userId, (s) => s.beads.update({ kind: 'user' }, beadId, patch), { rearm: true });
  }
  /** Close by hand (an in-progress bead's polecat is stopped first); beads waiting on it may then be dispatched. */
  closeBead(userId: string, beadId: string, reason: string | undefined): Promise<RpcResult<Bead>> {
    return this.asOwner('closeBead', userId, (s) => s.beads.close(beadId, reason), { rearm: true });
  }
  reopenBead(userId: string, beadId: string): Promise<RpcResult<Bead>> {
    return this.asOwner('reopenBead', userId, (s) => s.beads.reopen(beadId), { rearm: true });
  }
  deleteBead(userId: string, beadId: string): Promise<RpcResult<{ deleted: true; beadId: string }>> {
    return this.asOwner('deleteBead', userId, (s) => s.beads.delete(beadId), { rearm: true });
  }
  /** Convoys (optionally of one status), one page, oldest first. */
  listConvoys(userId: string, status: ConvoyStatus | null, page: PageRequest): Promise<RpcResult<Page<Convoy>>> {
    return this.asOwner('listConvoys', userId, (s) => s.convoys.page(status, page));
  }
  /** The convoy with its beads. */
  getConvoy(userId: string, convoyId: string): Promise<RpcResult<ConvoyDetailResponse>> {
    return this.asOwner('getConvoy', userId, (s) => s.convoys.detail(convoyId));
  }
  createConvoy(userId: string, req: NewConvoyInput): Promise<RpcResult<Convoy>> {
    return this.asOwner('createConvoy', userId, (s) => s.convoys.create({ kind: 'user' }, req), { rearm: true });
  }
  updateConvoy(userId: string, convoyId: string, edit: ConvoyEdit): Promise<RpcResult<Convoy>> {
    return this.asOwner('updateConvoy', userId, (s) => s.convoys.update(convoyId, edit), { rearm: true });
  }
  deleteConvoy(userId: string, convoyId: string): Promise<RpcResult<{ deleted: true; convoyId: string }>> {
    return this.asOwner('deleteConvoy', userId, (s) => s.convoys.delete(convoyId));
  }
  listEscalations(userId: string, filter: EscalationFilter, page: PageRequest): Promise<RpcResult<Page<Bead>>> {
    return this.asOwner('listEscalations', userId, (s) => s.escalations.page(filter, page));
  }
  acknowledgeEscalation(userId: string, beadId: string, note: string | undefined): Promise<RpcResult<Bead>> {
    return this.asOwner('acknowledgeEscalation', userId, (s) => s.escalations.acknowledge(beadId, userId, note));
  }
  resolveEscalation(userId: string, beadId: string, resolution: string | undefined): Promise<RpcResult<Bead>> {
    return this.asOwner('resolveEscalation', userId, (s) => s.escalations.resolve(beadId, userId, resolution), { rearm: true });
  }
  listMail(userId: string, page: PageRequest): Promise<RpcResult<Page<Mail>>> {
    return this.asOwner('listMail', userId, (s) => s.ctx.repos.mail.page(page));
  }
  listEvents(userId: string, after: number, limit: number): Promise<RpcResult<TownEvent[]>> {
    return this.asOwner('listEvents', userId, (s) => s.ctx.repos.townEvents.list(after, limit));
  }
  /** Model usage sums (SQL GROUP BY) and the spend cap's standing. */
  usage(userId: string, query: UsageQuery): Promise<RpcResult<UsageResponse>> {
    return this.asOwner('usage', userId, (s) => s.usage.query(query));
  }
  /** Store a message for the mayor and deliver it: warm to a running mayor, else by starting it. */
  postMayorMessage(userId: string, text: string, origin: string | null = null): Promise<RpcResult<MayorMessageResponse>> {
    return this.asOwner(
      'postMayorMessage',
      userId,
      (s) => {
        s.dispatch.rememberOrigin(origin);
        return s.mayor.post(text);
      },
      { rearm: true },
    );
  }
  listMayorMessages(userId: string, limit: number): Promise<RpcResult<MayorMessage[]>> {
    return this.asOwner('listMayorMessages', userId, (s) => s.mayor.list(limit));
  }
  /** Push the settings and stop the container gracefully: its next boot takes the current env vars (drained polecats come back at once). */
  restartContainer(userId: string): Promise<RpcResult<ContainerRestartResponse>> {
    return this.asOwner('restartContainer', userId, (s) => s.containerRestart.restart(), { rearm: true });
  }
  /** Forget the mayor's stored session (stopping a running mayor first); the worker deletes the returned object from R2. */
  resetMayorSession(userId: string): Promise<RpcResult<MayorSessionReset>> {
    return this.asOwner('resetMayorSession', userId, (s) => s.sessions.resetMayor(), { rearm: true });
  }

  // ---- agent API (claims already verified by the worker; gen checked here) -----------

  /** The broker's refresh. After a reuse past the grace window the agent's run restarts (gen + 1), then the refusal stands. */
  refreshCredentials(presented: string): Promise<RpcResult<AgentCredentials>> {
    return this.rpc('refreshCredentials', async () => {
      const s = this.townOfAgent();
      const { agentId, outcome } = await refreshAgentCredentials(s.ctx, presented);
      if (outcome.kind === 'refreshed') return outcome.credentials;
      if (outcome.error.code === 'refresh_reused' && agentId !== null) await s.dispatch.restartAfterCredentialReuse(agentId);
      throw outcome.error;
    });
  }

  /**
   * A heartbeat that changes nothing but the time is held in memory (liveness-memory.ts). One that
   * changes nothing the reconciler reads but this agent's heartbeat time (held or written) only
   * moves its liveness deadline later, so the armed alarm is still early enough: it re-arms only if
   * none is armed. Any other heartbeat (status, container instance, first of a run, refused) re-arms
   * from the whole town, as every change does.
   */
  async heartbeat(claims: AgentClaims, req: HeartbeatRequest): Promise<RpcResult<HeartbeatResponse>> {
    let reconcileUnchanged = false;
    const result = await this.asAgent('heartbeat', claims, async (s, agent) => {
      const beat = s.lifecycle.beat(agent, req);
      reconcileUnchanged = beat.reconcileUnchanged;
      // a working agent keeps its container awake (outbound traffic does not count for sleepAfter)
      await s.keepAwake.afterHeartbeat(statusFromHeartbeat(req));
      return beat.answer;
    });
    if (reconcileUnchanged) await this.rearmIfUnarmed('heartbeat');
    else await this.rearmQuietly('heartbeat');
    return result;
  }

  recordAgentEvents(claims: AgentClaims, req: EventBatchRequest): Promise<RpcResult<{ accepted: number; duplicates: number }>> {
    // agent-provided text is redacted before it is stored (and so before it is streamed)
    // a usage-only batch is taken from an earlier generation too (agent-authorization.ts assertMayReportUsage)
    const usageOnly = req.events.every((e) => e.type === MODEL_USAGE_EVENT);
    return this.asAgent(
      'recordAgentEvents',
      claims,
      async (s, agent) => {
        const { spendCapped, ...counts } = s.lifecycle.recordEvents(agent, redactEventBatch(req));
        // capped: the reconciler asks the working polecats to stop after their turn, at once
        if (spendCapped) await this.rearmQuietly('recordAgentEvents');
        return counts;
      },
      usageOnly ? { authorize: (services) => assertMayReportUsage(claims, services.ctx.townId, services.ctx.repos.agents.get(claims.sub)) } : {},
    );
  }
  reportCompletion(claims: AgentClaims, req: CompletionInput): Promise<RpcResult<{ ok: true; beadStatus: BeadStatus | null }>> {
    return this.asAgent(
      'reportCompletion',
      claims,
      (s, agent) => {
        const result = s.lifecycle.complete(agent, { ...req, reason: redactText(req.reason) });
        // messages that came while this mayor run was ending start the next one — after this answer:
        // the container sends the report from the ending run, and the new start goes to the same container
        if (agent.role === 'mayor') this.ctx.waitUntil(s.mayor.deliverAfterRunEnded(agent.id));
        return result;
      },
      { rearm: true },
    );
  }
  /** The worker stored a snapshot in R2 at `objectKey`: record it (mayor, current generation); returns the key it replaces, for the worker to delete. */
  storeSession(claims: AgentClaims, objectKey: string, record: SessionSnapshotRecord): Promise<RpcResult<{ previousKey: string | null }>> {
    return this.asAgent('storeSession', claims, (s, agent) => s.sessions.store(agent, objectKey, record));
  }
  /** The agent's stored snapshot (object key and record), or null. */
  loadSession(claims: AgentClaims): Promise<RpcResult<StoredSession | null>> {
    return this.asAgent('loadSession', claims, (s, agent) => s.sessions.load(agent));
  }
  /** The worker found the stored snapshot missing or altered: a town event. */
  reportSessionCorrupt(claims: AgentClaims, reason: string): Promise<RpcResult<true>> {
    return this.asAgent('reportSessionCorrupt', claims, (s, agent) => {
      s.sessions.corrupt(agent, reason);
      return true as const;
    });
  }
  /** The container's merge report. `pushed` (pull-request strategy): the pull request is opened before the answer (a failure is retried by the alarm). */
  reportMergeResult(claims: AgentClaims, req: MergeResultInput): Promise<RpcResult<{ mergeRequest: Bead; sourceBead: Bead | null }>> {
    return this.asAgent(
      'reportMergeResult',
      claims,
      async (s, agent) => {
        assertRole('merge-result', ['refinery'], agent.role);
        const result = s.work.mergeResult(agent, { ...req, message: redactText(req.message) });
        if (req.outcome !== 'pushed') return result;
        const mergeRequest = await s.pullRequests.open(result.mergeRequest.id);
        return { mergeRequest, sourceBead: result.sourceBead ? s.work.bead(result.sourceBead.id) : null };
      },
      { rearm: true },
    );
  }
  /** The container's git credential broker asks for a fresh git token of the agent's rig (polecat or refinery of that rig). */
  gitToken(claims: AgentClaims, rigId: string): Promise<RpcResult<GitTokenGrant>> {
    return this.asAgent('gitToken', claims, (s, agent) => s.rigs.grantFor(agent, rigId, 'request'));
  }
  /**
   * A tool that changes something the reconciler reads re-arms from the whole town; the others
   * (RECONCILE_NEUTRAL_TOOLS: reads and `status`, the traffic of every working agent) only if no
   * alarm is armed — as a steady heartbeat (see `heartbeat`).
   */
  async callTool<T extends ToolName>(claims: AgentClaims, tool: T, args: unknown): Promise<RpcResult<ToolResult<T>>> {
    const neutral = RECONCILE_NEUTRAL_TOOLS.has(tool);
    const result = await this.asAgent(
      `tool:${tool}`,
      claims,
      (s, agent) => {
        // the role check first, so a forbidden call spends no allowance
        assertToolAllowed(tool, agent.role);
        this.toolLimiter.enforce(agent.id, tool);
        return s.tools.call(agent, tool, args as never);
      },
      { rearm: !neutral },
    );
    if (neutral) await this.rearmIfUnarmed(`tool:${tool}`);
    return result;
  }

  // ---- git host webhooks (the worker route forwards; the signature is checked here, where the secret is) ----

  /** A provider webhook for one of this town's rigs (404 unknown rig, 401 webhook_unauthorized, duplicates change nothing). */
  receiveWebhook(input: WebhookInput): Promise<RpcResult<WebhookResult>> {
    return this.rpc('receiveWebhook', () => this.town().pullRequests.receiveWebhook(input), { rearm: true });
  }

  // ---- internal: dispatch, reconciler (and tests) ----------------------------------------

  /** Create an agent row (no credentials yet). Used by dispatch and by tests. */
  createAgent(input: CreateAgentInput): Promise<RpcResult<Agent>> {
    return this.rpc('createAgent', () => this.town().agents.create(input));
  }
  /** gen + 1 and a new credential family, as a (re)dispatch does. Returns the secrets: hand them only to the container. */
  issueAgentCredentials(agentId: string): Promise<RpcResult<{ agent: Agent; credentials: AgentCredentials }>> {
    return this.rpc(
      'issueAgentCredentials',
      async () => {
        const s = this.town();
        const { credentials } = await issueAtDispatch(s.ctx, agentId);
        return { agent: s.agents.view(agentId), credentials };
      },
      { rearm: true },
    );
  }
  /** startAgentInContainer: credentials (gen + 1) → StartAgentRequest → the container. */
  startAgent(agentId: string, prompt: string | null = null): Promise<RpcResult<Agent>> {
    return this.rpc('startAgent', () => this.town().dispatch.start(agentId, { prompt, reason: 'manual' }), { rearm: true });
  }
  /**
   * TownContainerDO.onStop: the town's container stopped (exit, crash, SIGKILL). Every live run last
   * heard from before the stop is lost now and re-dispatched by the usual rules, instead of after
   * missed heartbeats (reconcile.ts lostReason `container_stopped`). A repeated notice changes nothing.
   */
  containerStopped(notice: ContainerStoppedNotice): Promise<RpcResult<{ lost: string[] }>> {
    return this.rpc('containerStopped', async () => {
      const stoppedAt = Number(notice?.stoppedAt);
      if (!Number.isFinite(stoppedAt) || stoppedAt <= 0) throw new GastownError('validation_failed', 'stoppedAt must be a time in ms');
      const s = this.town();
      s.ctx.transaction(() => {
        const previous = Number(s.ctx.repos.townState.get('containerStoppedAt') ?? 0);
        s.ctx.repos.townState.set('containerStoppedAt', String(Math.max(previous, stoppedAt)));
        s.ctx.event({ type: 'container.stopped', data: { exitCode: Number(notice.exitCode), reason: String(notice.reason).slice(0, 40), stoppedAt } });
      });
      const run = await this.runReconciler();
      return { lost: (run?.actions ?? []).flatMap((a) => (a.type === 'agent_lost' && 'agentId' in a ? [String(a.agentId)] : [])) };
    });
  }
  /** Run the reconciler now (what the alarm does); returns the action types it took and the next wake-up. */
  reconcileNow(): Promise<RpcResult<{ actions: string[]; nextAt: number | null }>> {
    return this.rpc('reconcileNow', async () => {
      const run = await this.runReconciler();
      return { actions: run?.actions.map((a) => a.type) ?? [], nextAt: run?.nextAt ?? null };
    });
  }

  /** The one alarm: run the reconciler, then re-arm to the earliest next time (or not at all). */
  override async alarm(): Promise<void> {
    await this.runReconciler();
  }

  // ---- plumbing ---------------------------------------------------------------------------

  private async runReconciler(): Promise<{ actions: { type: string }[]; nextAt: number | null } | null> {
    const services = this.services;
    if (!services || this.deleting) return null;
    const { clock, settings, logger } = this.deps;
    if (this.reconciling) {
      // a run is in progress (awaiting a container): look again shortly
      await this.alarms.set(clock.now() + settings.minAlarmDelayMs);
      return null;
    }
    this.reconciling = true;
    try {
      const run = await services.reconciler.run();
      this.landConvoys('alarm');
      // events past the town's retention go in bounded batches; a backlog brings the next alarm forward
      const pruned = pruneEvents(services.ctx.repos, clock.now());
      const nextAt = pruned.more ? clock.now() + settings.minAlarmDelayMs : run.nextAt;
      if (nextAt === null) await this.alarms.clear();
      else await this.alarms.set(Math.max(nextAt, clock.now() + settings.minAlarmDelayMs));
      return { ...run, nextAt };
    } catch (err) {
      logger.error({ msg: 'reconciler failed', townId: services.ctx.townId, error: describeUnexpected(err) });
      await this.alarms.set(clock.now() + settings.heartbeatIntervalMs);
      return null;
    } finally {
      this.reconciling = false;
    }
  }

  /** After a change: make sure the alarm fires no later than the reconciler needs to look. */
  private async rearm(): Promise<void> {
    const services = this.services;
    if (!services) return;
    const next = services.reconciler.nextAt();
    if (next === null) return;
    const at = Math.max(next, this.deps.clock.now());
    const current = await this.alarms.get();
    if (current === null || at < current) await this.alarms.set(at);
  }

  /** rearm, only when no alarm is armed at all (a heartbeat held in memory: see `heartbeat`). */
  private async rearmIfUnarmed(operation: string): Promise<void> {
    try {
      if ((await this.alarms.get()) === null) await this.rearm();
    } catch (err) {
      this.deps.logger.error({ msg: 'alarm re-arm failed', operation, error: describeUnexpected(err) });
    }
  }

  /** Best effort: a container host that is down must not fail a config update (the next start pushes again). */
  private async pushContainerSettings(s: TownServices): Promise<void> {
    try {
      await s.dispatch.syncContainerSettings();
    } catch (err) {
      const code = codeOf(err, 'upstream_failed');
      s.ctx.event({ type: 'container.settings_failed', data: { code } });
      this.deps.logger.warn({ msg: 'container settings not delivered', townId: s.ctx.townId, code });
    }
  }

  private town(): TownServices {
    if (!this.services) throw new GastownError('not_found', 'town not found');
    if (this.deleting) throw new GastownError('conflict', 'the town is being deleted');
    return this.services;
  }

  /** The town an agent's call is for: none (never created, or deleted) makes its token worthless: 401. */
  private townOfAgent(): TownServices {
    if (!this.services || this.deleting) throw new GastownError('token_revoked', 'agent credentials are revoked (the town does not exist)');
    return this.services;
  }

  private async rpc<T>(operation: string, fn: () => T | Promise<T>, options: { rearm?: boolean } = {}): Promise<RpcResult<T>> {
    const result = await toRpcResult(this.deps.logger, operation, fn);
    if (options.rearm) {
      // every operation that may close a bead re-arms: a convoy whose beads are now all closed lands here, once
      this.landConvoys(operation);
      await this.rearmQuietly(operation);
    }
    return result;
  }

  /** Land the convoys whose beads are all closed (convoy-service.ts); a failure is logged, never the operation's. */
  private landConvoys(operation: string): void {
    const services = this.services;
    if (!services) return;
    try {
      services.convoys.landReady();
    } catch (err) {
      this.deps.logger.error({ msg: 'convoy landing failed', operation, error: describeUnexpected(err) });
    }
  }

  /** rearm, with a failure logged instead of thrown (the operation itself went through). */
  private async rearmQuietly(operation: string): Promise<void> {
    try {
      await this.rearm();
    } catch (err) {
      this.deps.logger.error({ msg: 'alarm re-arm failed', operation, error: describeUnexpected(err) });
    }
  }

  private asOwner<T>(operation: string, userId: string, fn: (s: TownServices) => T | Promise<T>, options: { rearm?: boolean } = {}): Promise<RpcResult<T>> {
    return this.rpc(
      operation,
      () => {
        const services = this.town();
        services.town.requireOwner(userId);
        return fn(services);
      },
      options,
    );
  }

  private asAgent<T>(
    operation: string,
    claims: AgentClaims,
    fn: (s: TownServices, agent: ReturnType<TownServices['agents']['record']>) => T | Promise<T>,
    options: { rearm?: boolean; authorize?: (services: TownServices) => ReturnType<TownServices['agents']['record']> } = {},
  ): Promise<RpcResult<T>> {
    const { authorize, ...rpcOptions } = options;
    return this.rpc(
      operation,
      () => {
        const services = this.townOfAgent();
        const agent = authorize
          ? authorize(services)
          : assertTokenCurrent(claims, services.ctx.townId, services.ctx.repos.agents.get(claims.sub), services.ctx.reissuing.get(claims.sub) ?? null);
        return fn(services, agent);
      },
      rpcOptions,
    );
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
