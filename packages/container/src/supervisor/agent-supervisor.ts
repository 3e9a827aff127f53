import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ContainerNudgeRequestSchema,
  DeliverMessageRequestSchema,
  GastownError,
  asGastownError,
  MergeRequestSchema,
  MODEL_USAGE_EVENT,
  PushCredentialsRequestSchema,
  StartAgentRequestSchema,
  StopAgentRequestSchema,
  type AgentRuntimeStatus,
  type CompletionRequest,
  type GitTokenGrant,
  type MergeRequest,
  RemoveRigWorkspacesRequestSchema,
  type RemoveRigWorkspacesResponse,
} from '@gastown/protocol';
import type { ControlPlaneClient } from '../broker/control-plane-client';
import type { EventSink } from '../consumers/event-sink';
import type { RuntimeEvent } from '../contracts';
import { KeyedQueue } from '../git/keyed-queue';
import { GitCommandError } from '../git/git-runner';
import { validRig } from '../git/validate';
import { redactString } from '../log/redact';
import { allowedRuntimeModels, runtimeModels, type RuntimeModels } from '../runtime/runtime-models';
import { AgentRun } from './agent-run';
import { withBranchSubmission } from './branch-submission';
import { commitWorkInProgress } from './drain-commit';
import { MayorSession } from './mayor-session';
import { runMerge } from './merge-job';
import { setupCommandStep } from './setup-command';
import { parseBody } from './parse';
import { recordFor } from './runtime-events';
import type { AgentControl, StartAgent, SupervisorDeps } from './types';

type Outcome = CompletionRequest['outcome'];

/** Budget of each git command of a drain commit (a hostile repository can delay the drain by at most this much per command). */
const DRAIN_COMMIT_TIMEOUT_MS = 5_000;

/**
 * Runs the agents of one container. Per agent: a credential broker, a control-plane
 * client, a heartbeat loop, an event sink, a workspace and a runtime, started and torn
 * down in a fixed order. Lifecycle operations of one agent are serialised.
 */
export class AgentSupervisor implements AgentControl {
  readonly #deps: SupervisorDeps;
  readonly #runs = new Map<string, AgentRun>();
  readonly #queue = new KeyedQueue();
  readonly #jobs = new Set<Promise<void>>();
  /** Polecat runs whose gt_done copied their branch: at exit that copy is pushed as it is. */
  readonly #submitted = new WeakSet<AgentRun>();
  #shuttingDown = false;

  constructor(deps: SupervisorDeps) {
    this.#deps = deps;
  }

  // ---- public API ----------------------------------------------------------------

  async start(input: unknown): Promise<AgentRuntimeStatus> {
    if (this.#shuttingDown) throw new GastownError('container_unavailable', 'container is shutting down');
    const request = parseBody(StartAgentRequestSchema, input);
    checkShape(request);
    // before any state exists, like the shape: a start naming no model fails as config_invalid
    const models = runtimeModels(request.runtime);
    return this.#queue.run(request.agent.id, async () => {
      const existing = this.#runs.get(request.agent.id);
      if (existing?.isLive()) {
        if (existing.gen === request.agent.gen) return existing.status();
        if (existing.gen > request.agent.gen) {
          throw new GastownError('conflict', `agent ${existing.id} already runs generation ${existing.gen}`);
        }
        await this.#finish(existing, 'stopped', 'superseded by a newer generation', { report: false });
      }
      const run = this.#createRun(request, models);
      this.#runs.set(run.id, run);
      await this.#launch(run, request.gitToken);
      return run.status();
    });
  }

  async deliver(agentId: string, input: unknown): Promise<AgentRuntimeStatus> {
    const body = parseBody(DeliverMessageRequestSchema, input);
    const run = this.#liveRun(agentId);
    // Synchronously, before any await: the run is busy again, so an idle exit cannot win the race.
    this.#cancelIdle(run);
    run.apply('message.sent');
    if (body.grant) {
      run.broker.push(body.grant, null, 'message');
      run.observeCredential();
    }
    await run.ready;
    const runtime = run.runtime;
    if (!run.isLive() || !runtime) throw new GastownError('conflict', `agent ${agentId} is ${run.state}`);
    run.sink?.emit('agent.message', { chars: body.text.length, withGrant: body.grant !== null });
    const baseline = run.session?.messageBaseline(body.text) ?? 0;
    await runtime.prompt(body.text);
    // the mayor's message is in the stored conversation before the caller hears it was accepted
    await run.session?.saveAfterMessage(body.text, baseline);
    return run.status();
  }

  /**
   * A nudge: the text joins the live run's session without starting a turn (runtime `note`); the
   * agent reads it at its next model call. A run still starting gets it once it is ready.
   */
  async nudge(agentId: string, input: unknown): Promise<AgentRuntimeStatus> {
    const body = parseBody(ContainerNudgeRequestSchema, input);
    const run = this.#liveRun(agentId);
    await run.ready;
    const runtime = run.runtime;
    if (!run.isLive() || !runtime) throw new GastownError('conflict', `agent ${agentId} is ${run.state}`);
    if (!runtime.note) throw new GastownError('conflict', `the ${run.request.runtime.kind} runtime of agent ${agentId} cannot take a nudge`);
    await runtime.note(body.text);
    run.sink?.emit('agent.nudged', { chars: body.text.length });
    return run.status();
  }

  push(agentId: string, input: unknown): AgentRuntimeStatus {
    const body = parseBody(PushCredentialsRequestSchema, input);
    const run = this.#liveRun(agentId);
    run.broker.push(body.grant, body.refresh, 'push');
    run.sink?.emit('credential.pushed', { gen: body.grant.gen, accessTokenExpiresAt: body.grant.accessTokenExpiresAt, withRefresh: body.refresh !== null });
    run.observeCredential();
    return run.status();
  }

  /**
   * Stop a run (outcome `stopped`). With `afterTurn` (spend cap), a run working on a turn is only
   * marked: the answer comes at once, the model proxy refuses the run's next model call, and the
   * run ends at that refusal or at its session's next idle, whichever comes first (#endAfterTurn).
   * A run already waiting stops now either way.
   */
  async stop(agentId: string, input: unknown): Promise<AgentRuntimeStatus> {
    const { reason, afterTurn } = parseBody(StopAgentRequestSchema, input === undefined ? {} : input);
    if (!this.#runs.has(agentId)) throw notFound(agentId);
    return this.#queue.run(agentId, async () => {
      const run = this.#runs.get(agentId);
      if (!run) throw notFound(agentId);
      if (!run.isLive()) return run.status();
      if (afterTurn && run.activity === 'working') {
        run.stopAfterTurn(reason);
        run.log.info('agent.stop_after_turn', { reason });
        return run.status();
      }
      await this.#finish(run, 'stopped', reason, { report: true });
      return run.status();
    });
  }

  status(agentId: string): AgentRuntimeStatus {
    const run = this.#runs.get(agentId);
    if (!run) throw notFound(agentId);
    return run.status();
  }

  list(): AgentRuntimeStatus[] {
    return [...this.#runs.values()].map((run) => run.status());
  }

  liveCount(): number {
    let count = 0;
    for (const run of this.#runs.values()) if (run.isLive()) count++;
    return count;
  }

  async removeRig(rigId: string, input: unknown): Promise<RemoveRigWorkspacesResponse> {
    const { agentIds } = parseBody(RemoveRigWorkspacesRequestSchema, input);
    // the control plane stopped them first; a run still live here ends now, without a report
    for (const agentId of agentIds) {
      const run = this.#runs.get(agentId);
      if (run?.isLive()) await this.#queue.run(agentId, () => this.#finish(run, 'stopped', 'rig deleted', { report: false }));
    }
    const removed = (await this.#deps.git.removeRig?.(rigId, agentIds)) ?? 0;
    return { removed };
  }

  merge(input: unknown): { accepted: true; request: MergeRequest } {
    const request = parseBody(MergeRequestSchema, input);
    validRig(request.rig);
    const run = this.#liveRun(request.agentId);
    if (run.role !== 'refinery') throw new GastownError('role_forbidden', 'merges are reported by a refinery');
    const job = runMerge({ request, run, git: this.#deps.git, logger: run.log });
    run.track(job);
    this.#jobs.add(job);
    void job.finally(() => {
      this.#jobs.delete(job);
    });
    return { accepted: true, request };
  }

  /** Resolves when every accepted merge has been reported (or given up). */
  async drain(): Promise<void> {
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs]);
  }

  /**
   * SIGTERM — the container drains: refuse new starts; tell the town (`container.draining` on every
   * live run's event stream); commit a working polecat's uncommitted work as the agent, so the
   * branch its orderly end pushes is where the re-dispatched polecat resumes; save every mayor's
   * conversation (#finish); end every run with outcome `drained`. Past the budget, stop runtimes
   * without waiting for reports.
   */
  async stopAll(reason = 'container shutdown'): Promise<void> {
    this.#shuttingDown = true;
    const live = [...this.#runs.values()].filter((run) => run.isLive());
    for (const run of live) run.sink?.emit('container.draining', { containerInstanceId: this.#deps.settings.instanceId, reason, agents: live.length });
    const graceful = Promise.allSettled(live.map((run) => this.#drain(run, reason)));
    let timer: unknown = null;
    const budget = new Promise<'timeout'>((resolve) => {
      timer = this.#deps.timers.setTimeout(() => resolve('timeout'), this.#deps.settings.stopTimeoutMs);
    });
    const outcome = await Promise.race([graceful.then(() => 'done' as const), budget]);
    this.#deps.timers.clearTimeout(timer);
    if (outcome === 'timeout') {
      this.#deps.logger.warn('supervisor.stop_all_timeout', { agents: live.length });
      await Promise.allSettled(live.map((run) => run.runtime?.stop()));
    }
  }

  // ---- lifecycle -----------------------------------------------------------------

  #drain(run: AgentRun, reason: string): Promise<void> {
    return this.#queue.run(run.id, async () => {
      if (!run.isLive()) return;
      if (run.role === 'polecat') await this.#saveWorkInProgress(run);
      await this.#finish(run, 'drained', reason, { report: true });
    });
  }

  /** A polecat that has not submitted yet: its uncommitted changes become a commit on its branch (./drain-commit). Never throws. */
  async #saveWorkInProgress(run: AgentRun): Promise<void> {
    const runtime = run.runtime;
    if (!runtime || !run.workdir || this.#submitted.has(run)) return;
    try {
      const outcome = await commitWorkInProgress(runtime, {
        workdir: run.workdir,
        message: `gastown: work in progress of ${run.agent.name}, saved when its container drained`,
        author: { name: run.agent.name, email: `${run.id}@agents.gastown.invalid` },
        timeoutMs: Math.min(DRAIN_COMMIT_TIMEOUT_MS, Math.max(1_000, Math.floor(this.#deps.settings.stopTimeoutMs / 4))),
      });
      const detail = outcome.committed ? null : redactString(outcome.detail, this.#secretValues()).slice(0, 500);
      run.log.info('agent.work_in_progress', { committed: outcome.committed, detail });
      run.sink?.emit('agent.work_saved', {
        committed: outcome.committed,
        branch: run.branch,
        ...(outcome.committed ? {} : { reason: outcome.reason, detail }),
      });
    } catch (error) {
      run.log.warn('agent.work_in_progress_failed', { error: messageOf(error) });
    }
  }

  #createRun(request: StartAgent, models: RuntimeModels): AgentRun {
    const { agent } = request;
    const d = this.#deps;
    const log = d.logger.child({ agentId: agent.id, role: agent.role, gen: agent.gen });
    const broker = d.createBroker({
      agent,
      controlPlaneUrl: request.controlPlaneUrl,
      initial: request.credentials,
      clock: d.clock,
      random: d.random,
      timers: d.timers,
      fetch: d.fetch,
      logger: log.child({ component: 'broker' }),
      ...(d.secrets ? { secrets: d.secrets } : {}),
    });
    // the git token goes to the rig's git token broker only (#attachGitTokens), never with the run
    return new AgentRun({ ...request, gitToken: null }, models, broker, d.clock.now(), log);
  }

  async #launch(run: AgentRun, gitToken: GitTokenGrant | null): Promise<void> {
    const d = this.#deps;
    const { request, agent } = { request: run.request, agent: run.agent };
    try {
      run.broker.start();
      const client = d.createClient({
        agent,
        controlPlaneUrl: request.controlPlaneUrl,
        broker: run.broker,
        fetch: d.fetch,
        logger: run.log.child({ component: 'client' }),
      });
      const sink = d.createEventSink({
        client,
        clock: d.clock,
        random: d.random,
        timers: d.timers,
        logger: run.log.child({ component: 'events' }),
        ...(d.secrets ? { secrets: d.secrets } : {}),
      });
      const heartbeat = d.createHeartbeat({
        client,
        broker: run.broker,
        intervalMs: d.settings.heartbeatIntervalMs,
        snapshot: () => run.heartbeatRequest(d.settings.instanceId),
        timers: d.timers,
        logger: run.log.child({ component: 'heartbeat' }),
      });
      run.attachConsumers({ client, sink, heartbeat });
      this.#attachGitTokens(run, client, sink, gitToken);
      heartbeat.start();
      sink.emit('agent.starting', { gen: agent.gen, role: agent.role, containerInstanceId: d.settings.instanceId });

      await this.#prepareWorkspace(run);
      const stateDir = join(d.settings.dataDir, 'agent-state', agent.id);
      await mkdir(stateDir, { recursive: true });

      const session = run.role === 'mayor' ? this.#createSession(run, client, sink) : null;
      const restore = session ? await session.load() : null;

      const brokerKey = d.brokerApi.registerAgent(agent.id, {
        client: this.#toolClient(run, client),
        provider: request.runtime.provider,
        models: allowedRuntimeModels(run.models),
        onUsage: (record) => sink.emit(MODEL_USAGE_EVENT, record),
        refuseModelCalls: () => run.stopAfterTurnReason !== null,
        onModelCallRefused: () => this.#endAfterTurn(run, 'model_call_refused'),
      });
      run.markRegistered();
      const runtime = d.createRuntime({
        kind: request.runtime.kind,
        agent,
        workdir: run.workdir!,
        stateDir,
        brokerUrl: d.settings.brokerUrl,
        brokerKey,
        provider: request.runtime.provider,
        model: run.models.model,
        smallModel: run.models.smallModel,
        pluginPath: d.settings.pluginPath,
        instructions: request.instructions,
        logger: run.log.child({ component: 'runtime' }),
        // a polecat's rig setup command, in its worktree, before the agent starts (./setup-command.ts)
        ...(request.setup && run.role === 'polecat'
          ? {
              prepare: setupCommandStep(request.setup, {
                workdir: run.workdir!,
                emit: (type, data) => {
                  sink.emit(type, data);
                },
                secrets: () => this.#secretValues(),
                clock: d.clock,
                logger: run.log.child({ component: 'setup' }),
              }),
            }
          : {}),
        ...(restore ? { restore } : {}),
      });
      run.attachRuntime(runtime, (event) => this.#onRuntimeEvent(run, event));
      await runtime.start();
      // the runtime may have exited while starting (→ failed): that is this start's failure
      if (run.state !== 'starting') throw new GastownError('internal', run.lastError ?? 'runtime exited during start');
      run.apply('runtime.started');
      sink.emit('agent.started', { pid: runtime.pid, sessionId: runtime.sessionId, workdir: run.workdir, branch: run.branch, isolation: runtime.isolation });
      run.log.info('agent.started', { pid: runtime.pid });
      session?.attach(runtime);

      if (request.prompt !== null) {
        run.apply('message.sent');
        const baseline = session?.messageBaseline(request.prompt) ?? 0;
        await runtime.prompt(request.prompt);
        await session?.saveAfterMessage(request.prompt, baseline);
      } else {
        this.#becomeIdle(run);
      }
      run.markReady();
      void heartbeat.beat();
    } catch (error) {
      // the error's own message: the runtime's and git's are secret-free, and the status shows it
      // redacted: a runtime's start error carries its output tail, which the agent can write to
      const failure = this.#redacted(asGastownError(error, 'internal', messageOf(error)));
      run.noteError(failure.message);
      run.log.error('agent.start_failed', { code: failure.code, error: failure.message });
      run.markStartFailed(failure);
      await this.#teardown(run, 'start.failed');
      throw failure;
    }
  }

  /**
   * A polecat or refinery of a private rig: its dispatch's git token goes to the rig's git token
   * broker, and the run stays a source of fresh tokens (through its client) and the stream for the
   * broker's events until its teardown — after its branch push and its merges.
   */
  #attachGitTokens(run: AgentRun, client: ControlPlaneClient, sink: EventSink, gitToken: GitTokenGrant | null): void {
    const rig = run.request.rig;
    const registry = this.#deps.gitTokens;
    if (!rig || rig.auth === 'none' || run.role === 'mayor' || !registry) return;
    const broker = registry.forRig(rig);
    run.attachGitTokens(
      broker.attach({
        agentId: run.id,
        gitToken: (rigId) => client.gitToken(rigId),
        emit: (type, data) => {
          sink.emit(type, data);
        },
      }),
    );
    // attached first, so a `git.credentials_recovered` this token brings goes out on this run's stream
    if (gitToken) broker.offer(gitToken);
  }

  /** The mayor's durable conversation (./mayor-session.ts), on the run's client and event sink. */
  #createSession(run: AgentRun, client: ControlPlaneClient, sink: EventSink): MayorSession {
    const session = new MayorSession({
      client,
      sink,
      runtimeKind: run.request.runtime.kind,
      clock: this.#deps.clock,
      timers: this.#deps.timers,
      logger: run.log,
      secrets: () => this.#secretValues(),
    });
    run.attachSession(session);
    return session;
  }

  async #prepareWorkspace(run: AgentRun): Promise<void> {
    const { request, agent } = run;
    switch (agent.role) {
      case 'mayor': {
        const dir = join(this.#deps.settings.dataDir, 'scratch', agent.id);
        await mkdir(dir, { recursive: true });
        run.setWorkspace(dir);
        return;
      }
      case 'polecat': {
        const { path, branch } = await this.#deps.git.createWorktree(request.rig!, agent.id, request.bead!.id).catch(remoteFailed);
        run.setWorkspace(path, branch);
        return;
      }
      case 'refinery':
        run.setWorkspace(await this.#deps.git.createClone(request.rig!, agent.id).catch(remoteFailed));
        return;
    }
  }

  /** The client the agent's tool calls go through: a polecat's gt_done first submits its branch (./branch-submission). */
  #toolClient(run: AgentRun, client: ControlPlaneClient): ControlPlaneClient {
    const { workdir, branch } = run;
    const rig = run.request.rig;
    if (run.role !== 'polecat' || !rig || !workdir || !branch) return client;
    return withBranchSubmission(client, {
      branch,
      submit: async () => {
        const commit = await this.#deps.git.submitBranch(rig, workdir, branch);
        this.#submitted.add(run);
        run.sink?.emit('branch.submitted', { branch, commit });
        return commit;
      },
    });
  }

  #onRuntimeEvent(run: AgentRun, event: RuntimeEvent): void {
    if (this.#runs.get(run.id) !== run) return; // a superseded run
    const record = recordFor(event, this.#secretValues());
    if (record && run.isLive()) run.sink?.emit(record.type, record.data);
    switch (event.type) {
      case 'session.busy': {
        const step = run.apply('session.busy');
        if (!step) return;
        this.#cancelIdle(run);
        if (step.from.state === 'idle' || step.from.activity === 'waiting') void run.heartbeat?.beat();
        return;
      }
      case 'session.idle':
        // the turn is over: a run marked to stop after it ends now, instead of waiting
        if (run.stopAfterTurnReason !== null) {
          this.#endAfterTurn(run, 'session_idle');
          return;
        }
        if (this.#becomeIdle(run)) {
          void run.heartbeat?.beat();
          void run.session?.save('waiting');
        }
        return;
      case 'error':
        run.noteError(redactString(event.message, this.#secretValues()).slice(0, 500));
        return;
      case 'exit': {
        const step = run.apply('runtime.exited');
        if (!step) return;
        if (step.from.state === 'starting') {
          run.noteError(`runtime exited during start (code ${event.code}, signal ${event.signal})`);
          return;
        }
        const reason = `runtime exited unexpectedly (code ${event.code}, signal ${event.signal})`;
        run.noteError(reason);
        run.log.error('agent.runtime_exited', { code: event.code, signal: event.signal });
        void this.#queue.run(run.id, async () => {
          if (run.isLive()) await this.#finish(run, 'failed', reason, { report: true });
        });
        return;
      }
      default:
        return;
    }
  }

  /**
   * A run marked to stop after its turn reached the end of it: the model proxy refused its next
   * model call, or its session went idle. Ends it with outcome `stopped` and the stop's reason
   * (once: whichever comes second finds the run no longer live).
   */
  #endAfterTurn(run: AgentRun, trigger: 'model_call_refused' | 'session_idle'): void {
    const reason = run.stopAfterTurnReason;
    if (reason === null) return;
    void this.#queue.run(run.id, async () => {
      if (this.#runs.get(run.id) !== run || !run.isLive()) return;
      run.log.info('agent.turn_ended', { trigger, reason });
      await this.#finish(run, 'stopped', reason, { report: true });
    });
  }

  /** idle: the mayor waits; a polecat/refinery arms its idle timer. False when the run's state ignores it. */
  #becomeIdle(run: AgentRun): boolean {
    if (!run.apply('session.idle')) return false;
    if (run.role === 'mayor') return true;
    this.#cancelIdle(run);
    const seconds = run.request.runtime.idleTimeoutSeconds;
    const ms = seconds !== null ? seconds * 1000 : this.#deps.settings.idleTimeoutMs[run.role];
    run.armIdleTimer(
      this.#deps.timers.setTimeout(() => {
        run.takeIdleTimer();
        void this.#queue.run(run.id, async () => {
          if (this.#runs.get(run.id) === run && run.state === 'idle') await this.#finish(run, 'completed', 'idle timeout', { report: true });
        });
      }, ms),
    );
    return true;
  }

  /** The secrets the registry holds now (what status messages and events are redacted with). */
  #secretValues(): readonly string[] {
    return this.#deps.secrets?.values() ?? [];
  }

  /** `error` itself when its message holds nothing secret; otherwise a GastownError with the same code and the redacted message. */
  #redacted(error: GastownError): GastownError {
    const message = redactString(error.message, this.#secretValues());
    return message === error.message ? error : new GastownError(error.code, message);
  }

  #cancelIdle(run: AgentRun): void {
    const handle = run.takeIdleTimer();
    if (handle !== null) this.#deps.timers.clearTimeout(handle);
  }

  /**
   * Orderly end of a live run: stop the runtime, push the branch (polecat), let pending
   * merge callbacks finish, flush events, report completion, stop the broker.
   */
  async #finish(run: AgentRun, outcome: Outcome, reason: string, options: { report: boolean }): Promise<void> {
    run.apply('stop.begun');
    this.#cancelIdle(run);
    run.log.info('agent.exiting', { outcome, reason });
    // the mayor's conversation is saved while its runtime still runs (a failed run's runtime is gone);
    // stopAll (SIGTERM) is the container draining
    if (outcome !== 'failed') await run.session?.close(this.#shuttingDown ? 'drain' : 'stop');
    await this.#stopRuntime(run);

    let finalOutcome = outcome;
    let finalReason = reason;
    let branch: string | null = null;
    if (run.role === 'polecat' && run.workdir && run.branch && run.request.rig) {
      try {
        // what gt_done submitted is pushed as it is; a run that never submitted has its branch copied now
        await this.#deps.git.pushBranch(run.request.rig, run.workdir, run.branch, { capture: !this.#submitted.has(run) });
        branch = run.branch;
      } catch (error) {
        const message = messageOf(error);
        run.log.error('agent.branch_push_failed', { branch: run.branch, error: message });
        if (finalOutcome === 'completed') finalOutcome = 'failed';
        finalReason = redactString(`${reason}; branch push failed: ${message}`, this.#secretValues()).slice(0, 2000);
      }
    }
    await run.settlePending();
    run.sink?.emit('agent.exited', { outcome: finalOutcome, reason: finalReason, branch });
    await this.#teardown(
      run,
      finalOutcome === 'failed' ? 'run.failed' : 'run.ended',
      options.report ? { outcome: finalOutcome, reason: finalReason, branch } : null,
    );
  }

  /** Release everything a run holds; report completion first if asked; then apply `end`. Never throws. */
  async #teardown(run: AgentRun, end: 'start.failed' | 'run.ended' | 'run.failed', completion: CompletionRequest | null = null): Promise<void> {
    this.#cancelIdle(run);
    await this.#stopRuntime(run);
    // the run's pushes and merges are done: it no longer fetches git tokens for its rig
    run.detachGitTokens();
    run.heartbeat?.stop();
    await run.sink?.close().catch((error: unknown) => run.log.warn('agent.events_flush_failed', { error: String(error) }));
    if (completion && run.client) {
      try {
        await run.client.completion(completion);
      } catch (error) {
        run.log.error('agent.completion_report_failed', { outcome: completion.outcome, error: messageOf(error) });
      }
    }
    run.freezeCredential();
    run.broker.stop();
    if (run.takeRegistration()) this.#deps.brokerApi.unregisterAgent(run.id);
    run.apply(end);
    run.log.info('agent.ended', { state: run.state, outcome: completion?.outcome ?? null });
  }

  async #stopRuntime(run: AgentRun): Promise<void> {
    const runtime = run.takeRuntimeToStop();
    if (!runtime) return;
    try {
      await runtime.stop();
    } catch (error) {
      run.log.warn('agent.runtime_stop_failed', { error: messageOf(error) });
    }
    run.detachRuntime();
  }

  #liveRun(agentId: string): AgentRun {
    const run = this.#runs.get(agentId);
    if (!run) throw notFound(agentId);
    if (!run.isLive()) throw new GastownError('conflict', `agent ${agentId} is ${run.state}`);
    return run;
  }
}

function checkShape(request: StartAgent): void {
  const { agent, rig, bead } = request;
  // the git rules too, before any state exists: a rig git refuses later must not leave a failed run behind
  if (rig) validRig(rig);
  if (agent.role !== 'mayor' && !rig) throw new GastownError('validation_failed', `a ${agent.role} needs a rig`);
  if (agent.role === 'polecat' && !bead) throw new GastownError('validation_failed', 'a polecat needs a bead');
  if (rig && agent.rigId !== rig.id) throw new GastownError('validation_failed', 'agent.rigId does not match rig.id');
  if (request.credentials.gen !== agent.gen) throw new GastownError('validation_failed', 'credentials.gen does not match agent.gen');
  if (request.gitToken && request.gitToken.rigId !== rig?.id) throw new GastownError('validation_failed', 'gitToken.rigId does not match rig.id');
}

/** A git command that failed while fetching or checking out the rig (an unreachable or missing remote): 502, not a container bug. */
function remoteFailed(error: unknown): never {
  if (error instanceof GitCommandError) throw new GastownError('upstream_failed', error.message, { cause: error });
  throw error;
}

function notFound(agentId: string): GastownError {
  return new GastownError('not_found', `no agent ${agentId} in this container`);
}

/** An error's own message (what the run's status and logs show). */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
