import {
  asGastownError,
  codeOf,
  GastownError,
  modelForRole,
  type Agent,
  type AgentRuntimeStatus,
  type Bead,
  type Mail,
  type ProviderConfig,
  type StartAgentRequest,
  type TownModels,
} from '@gastown/protocol';
import { customInstructions, setupFor, withCustomInstructions } from '../agent-settings-rules';
import { mailNotice, mayorInstructions, polecatBranch, polecatInstructions, polecatPrompt, refineryInstructions } from '../briefings';
import type { ContainerDelivery } from '../container-client';
import { CONTROL_PLANE_URL_RULE, isAllowedControlPlaneUrl } from '../control-plane-url';
import { grantToRunningAgent, issueAtDispatch, revokeRunCredentials } from '../credentials';
import { modelForAgent, storedProvider } from '../model-rules';
import type { AgentRecord } from '../repositories/agent-repository';
import type { AgentService } from './agent-service';
import type { RigService } from './rig-service';
import { rigRefOf } from './review-service';
import type { TownContext } from './context';
import { statusFromHeartbeat } from './lifecycle-service';
import type { TownService } from './town-service';
import type { WorkService } from './work-service';

/** StartAgentRequest text fields hold at most this many characters (protocol TextSchema). */
const MAX_TEXT_CHARS = 20_000;

export interface StartOptions {
  /** First user message of the run; null starts the runtime and waits. */
  prompt: string | null;
  /** Why it starts (event data): dispatch, message, review, redispatch … */
  reason: string;
  /** The lost-run path already bumped the generation (and so revoked the old run's tokens). */
  generationBumped?: boolean;
}

/**
 * Starting agents in the town's container and talking to live ones:
 * - `start`: gen + 1 with a new credential family, the role briefing, then `POST /agents`. A failure
 *   is recorded (agent `failed`, its tokens revoked, a town event with the real error) and rethrown.
 * - `deliver`: a message to a live agent with a freshly minted access token (warm send, no new gen).
 */
export class DispatchService {
  constructor(
    private readonly ctx: TownContext,
    private readonly town: TownService,
    private readonly agents: AgentService,
    private readonly work: WorkService,
    private readonly rigs: RigService,
  ) {}

  /** The town's model provider, or a typed 409: nothing can run without one (nor without its models). */
  requireProvider(): ProviderConfig {
    return this.requireModelConfig().provider;
  }

  /** The provider and the town's models, or a typed 409 saying which to configure. */
  requireModelConfig(): { provider: ProviderConfig; models: TownModels } {
    const town = this.town.town();
    const { provider, models } = town.config;
    const where = `the dashboard's Settings tab, \`gastown town config set …\` or PATCH /api/towns/:townId/config`;
    if (!provider) throw new GastownError('conflict', `configure a model provider first: town ${town.name} has none (${where} {provider})`);
    if (!models) throw new GastownError('conflict', `configure the town models first: town ${town.name} has no default model (${where} {models: {default}})`);
    return { provider, models };
  }

  /** Remember where the user reaches this control plane (used when GASTOWN_PUBLIC_URL is not set). */
  rememberOrigin(origin: string | null | undefined): void {
    if (!origin || this.ctx.settings.publicUrl) return;
    let normalised: string;
    try {
      const url = new URL(origin);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
      normalised = url.origin;
    } catch {
      return;
    }
    if (this.ctx.repos.townState.get('controlPlaneUrl') !== normalised) this.ctx.repos.townState.set('controlPlaneUrl', normalised);
  }

  /**
   * The URL containers call back to: GASTOWN_PUBLIC_URL, else the origin the user last used. Refused
   * (validation_failed) unless it is https: or http: to a loopback host — the agents' credentials
   * travel to it. GASTOWN_PUBLIC_URL was already checked at startup (config_invalid).
   */
  controlPlaneUrl(): string {
    const url = this.ctx.settings.publicUrl ?? this.ctx.repos.townState.get('controlPlaneUrl');
    if (!url) throw new GastownError('conflict', 'the control-plane URL is unknown: set GASTOWN_PUBLIC_URL');
    if (!isAllowedControlPlaneUrl(url)) {
      throw new GastownError(
        'validation_failed',
        `the control-plane URL handed to containers ${CONTROL_PLANE_URL_RULE}: reach this control plane over https, or set GASTOWN_PUBLIC_URL`,
      );
    }
    return url;
  }

  /** Hand the town's env vars and sleepAfter to the container runtime (applies at its next boot). */
  async syncContainerSettings(): Promise<void> {
    const town = this.town.town();
    await this.ctx.container.configure({ envVars: this.ctx.repos.town.envVars(), sleepAfterSeconds: town.config.sleepAfterSeconds });
  }

  /** Start (or restart) an agent's run in the container. */
  async start(agentId: string, options: StartOptions): Promise<Agent> {
    const { ctx } = this;
    const modelConfig = this.requireModelConfig();
    const controlPlaneUrl = this.controlPlaneUrl();
    if (ctx.inFlight.has(agentId)) throw new GastownError('conflict', 'this agent is already being started');
    ctx.inFlight.add(agentId);
    let gen: number | null = null;
    try {
      await this.syncContainerSettings();
      // a private rig's git token first: a host that refuses it fails the start (git_auth_failed) before a generation is spent
      const gitToken = await this.rigs.dispatchGrant(this.agents.record(agentId));
      const issued = await issueAtDispatch(ctx, agentId, { generationBumped: options.generationBumped ?? false });
      gen = issued.gen;
      const request = { ...this.startRequest(this.agents.record(agentId), modelConfig, controlPlaneUrl, issued.credentials, options.prompt), gitToken };
      const status = await ctx.container.start(request);
      this.recordStarted(agentId, gen, status, options.reason);
      return this.agents.view(agentId);
    } catch (err) {
      const error = asGastownError(err, 'upstream_failed', 'the agent could not be started');
      this.recordStartFailed(agentId, gen, error, options.reason);
      throw error;
    } finally {
      ctx.inFlight.delete(agentId);
    }
  }

  /** Warm send: a message to a live agent with a fresh access token swapped in before the prompt. */
  async deliver(agentId: string, text: string): Promise<ContainerDelivery> {
    const agent = this.agents.record(agentId);
    if (agent.gen < 1) return 'not_running';
    const granted = await grantToRunningAgent(this.ctx, agent, { kind: 'message', text: text.slice(0, MAX_TEXT_CHARS) });
    if (!granted.ok) throw granted.error;
    return granted.delivery;
  }

  /**
   * A refresh credential of this agent was replayed after the grace window: its family is revoked.
   * A live agent starts again with gen + 1 and a new family (the container replaces the old run);
   * a stopped or exited one stays so. Failures are logged, never hide the refusal.
   */
  async restartAfterCredentialReuse(agentId: string): Promise<void> {
    const { ctx } = this;
    const agent = this.agents.record(agentId);
    if (agent.status !== 'starting' && agent.status !== 'working' && agent.status !== 'waiting') return;
    try {
      if (agent.role === 'polecat' && agent.beadId) await this.startPolecat(agentId, 'credential_reuse', true);
      else await this.start(agentId, { prompt: null, reason: 'credential_reuse' });
    } catch (err) {
      ctx.logger.warn({ msg: 'redispatch after credential reuse failed', townId: ctx.townId, agentId, code: codeOf(err) });
    }
  }

  /**
   * Mail to a live agent is also handed to it as a prompt (with a fresh grant), so a waiting agent
   * acts on it. Best effort: the mail is stored either way; a failure is logged and recorded.
   */
  async notifyMail(mail: Mail): Promise<void> {
    const { ctx } = this;
    const recipient = ctx.repos.agents.get(mail.toAgentId);
    if (!recipient || recipient.gen < 1 || ctx.inFlight.has(recipient.id) || !['working', 'waiting'].includes(recipient.status)) return;
    const sender = mail.fromAgentId ? ctx.repos.agents.get(mail.fromAgentId) : null;
    try {
      const result = await this.deliver(recipient.id, mailNotice(sender?.name ?? 'the town', mail.subject, mail.body));
      ctx.event({ type: 'mail.notified', agentId: recipient.id, data: { mailId: mail.id, delivery: result } });
    } catch (err) {
      const code = codeOf(err, 'upstream_failed');
      ctx.logger.warn({ msg: 'mail notice failed', townId: ctx.townId, agentId: recipient.id, code });
      ctx.event({ type: 'mail.notify_failed', agentId: recipient.id, data: { mailId: mail.id, code } });
    }
  }

  /** A new polecat for an open issue bead, started on it. A failed start spends one of the bead's attempts. */
  async dispatchPolecat(beadId: string): Promise<Agent> {
    const bead = this.work.bead(beadId);
    if (bead.type !== 'issue' || bead.status !== 'open' || bead.assigneeId !== null || bead.rigId === null) {
      throw new GastownError('conflict', `bead ${bead.id} is not an open, unassigned issue`);
    }
    // the reconciler never picks a bead that waits on another; this guards every other caller too
    const waitingOn = this.ctx.repos.beads.unclosedDependencies(bead.id);
    if (waitingOn.length > 0) throw new GastownError('conflict', `bead ${bead.id} waits on ${waitingOn.join(', ')} (not closed yet)`);
    this.requireProvider();
    this.controlPlaneUrl(); // a URL it may not hand over: refused before an agent exists or an attempt is spent
    const agent = this.agents.create({ role: 'polecat', rigId: bead.rigId, beadId: bead.id });
    return this.startPolecat(agent.id, 'dispatch');
  }

  /**
   * (Re)start a polecat on its hooked bead. A failed start spends one of the bead's attempts, unless
   * the caller already counted this attempt (`attemptCounted`: a lost run being re-dispatched).
   */
  /**
   * `keepBeadOn`: failures after which the bead stays as it is (the caller retries the same polecat);
   * any other failure sends it back to open (a spent attempt unless `attemptCounted`).
   */
  async startPolecat(
    agentId: string,
    reason: string,
    attemptCounted = false,
    generationBumped = false,
    keepBeadOn: (error: GastownError) => boolean = () => false,
  ): Promise<Agent> {
    const agent = this.agents.record(agentId);
    const bead = this.work.bead(agent.beadId!);
    try {
      return await this.start(agentId, { prompt: polecatPrompt(bead, polecatBranch(agentId, bead.id)), reason, generationBumped });
    } catch (err) {
      const error = asGastownError(err, 'internal', 'polecat start failed');
      const current = this.work.bead(bead.id);
      if (current.status === 'in_progress' && current.assigneeId === agentId && !keepBeadOn(error)) {
        const reason = `polecat start failed: ${error.message}`;
        // the container could not be had (cold start, rollout, 429): not the bead's failure
        if (error.code === 'container_unavailable') this.work.retryIssueWhenContainerUnavailable(bead.id, reason, agentId, attemptCounted);
        else this.work.retryIssue(bead.id, reason, agentId, !attemptCounted);
      }
      throw error;
    }
  }

  private startRequest(
    agent: AgentRecord,
    { provider, models }: { provider: ProviderConfig; models: TownModels },
    controlPlaneUrl: string,
    credentials: StartAgentRequest['credentials'],
    prompt: string | null,
  ): StartAgentRequest {
    const town = this.town.town();
    const rig = agent.rigId ? this.town.rig(agent.rigId) : null;
    const bead: Bead | null = agent.role === 'polecat' && agent.beadId ? this.work.bead(agent.beadId) : null;
    const instructions =
      agent.role === 'mayor'
        ? mayorInstructions(town.name)
        : agent.role === 'polecat'
          ? polecatInstructions(rig!, bead!, agent.id)
          : refineryInstructions(rig!);
    return {
      agent: { id: agent.id, townId: this.ctx.townId, rigId: agent.rigId, userId: town.ownerId, role: agent.role, name: agent.name, gen: agent.gen },
      controlPlaneUrl,
      credentials,
      // the agent's model: its role's, its rig's or its bead's (model-rules.ts); the provider goes without a model
      runtime: {
        kind: town.config.runtime,
        provider: storedProvider(provider),
        model: modelForAgent(models, agent.role, rig?.models ?? null, bead),
        smallModel: modelForRole(models, 'small'),
        idleTimeoutSeconds: null,
      },
      rig: rig ? rigRefOf(rig) : null,
      bead: bead ? { id: bead.id, title: bead.title, body: bead.body.slice(0, MAX_TEXT_CHARS) } : null,
      // the owner's instructions for the role (the rig's own, else the town's) after the briefing
      instructions: withCustomInstructions(instructions, customInstructions(agent.role, town.config, rig)).slice(0, MAX_TEXT_CHARS),
      prompt: prompt === null ? null : prompt.slice(0, MAX_TEXT_CHARS),
      // a polecat's rig setup command, from the rig's settings (the user's; never an agent's)
      setup: setupFor(agent.role, rig),
    };
  }

  /** The container runs the agent: its status from the container's view, unless a heartbeat or a newer gen got there first. */
  private recordStarted(agentId: string, gen: number, status: AgentRuntimeStatus, reason: string): void {
    const { ctx } = this;
    const now = ctx.clock.now();
    ctx.transaction(() => {
      const current = this.agents.record(agentId);
      if (current.gen === gen && current.status === 'starting') ctx.repos.agents.setStatus(agentId, statusFromHeartbeat(status), now);
      ctx.event({ type: 'agent.dispatched', agentId, beadId: current.beadId, data: { gen, reason, role: current.role, runtimeState: status.runtimeState } });
    });
  }

  /**
   * A start failed: the agent is `failed` with the error as its status line, and if credentials were
   * issued the generation moves on and the family is revoked — a run the container may still bring
   * up late can never use them.
   */
  private recordStartFailed(agentId: string, gen: number | null, error: GastownError, reason: string): void {
    const { ctx } = this;
    const now = ctx.clock.now();
    ctx.transaction(() => {
      if (gen !== null && this.agents.record(agentId).gen === gen) revokeRunCredentials(ctx, agentId, 'start_failed', now);
      ctx.repos.agents.setStatus(agentId, 'failed', now);
      ctx.repos.agents.setStatusLine(agentId, `start failed: ${error.message}`.slice(0, 500), now);
      ctx.event({ type: 'agent.start_failed', agentId, data: { gen, reason, code: error.code, message: error.message.slice(0, 1000) } });
    });
    ctx.logger.warn({ msg: 'agent start failed', townId: ctx.townId, agentId, code: error.code });
  }
}
