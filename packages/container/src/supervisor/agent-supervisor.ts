import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeliverMessageRequestSchema,
  GastownError,
  MergeRequestSchema,
  PushCredentialsRequestSchema,
  StartAgentRequestSchema,
  StopAgentRequestSchema,
  type AgentRuntimeStatus,
  type CompletionRequest,
  type MergeRequest,
} from '@gastown/protocol';
import type { RuntimeEvent } from '../contracts';
import { KeyedQueue } from '../git/keyed-queue';
import { GitCommandError } from '../git/git-runner';
import { validRig } from '../git/validate';
import { AgentRun } from './agent-run';
import { runMerge } from './merge-job';
import { parseBody } from './parse';
import { recordFor } from './runtime-events';
import type { AgentControl, StartAgent, SupervisorDeps } from './types';

type Outcome = CompletionRequest['outcome'];

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
  #shuttingDown = false;

  constructor(deps: SupervisorDeps) {
    this.#deps = deps;
  }

  // ---- public API ----------------------------------------------------------------

  async start(input: unknown): Promise<AgentRuntimeStatus> {
    if (this.#shuttingDown) throw new GastownError('container_unavailable', 'container is shutting down');
    const request = parseBody(StartAgentRequestSchema, input);
    checkShape(request);
    return this.#queue.run(request.agent.id, async () => {
      const existing = this.#runs.get(request.agent.id);
      if (existing?.isLive()) {
        if (existing.gen === request.agent.gen) return existing.status();
        if (existing.gen > request.agent.gen) {
          throw new GastownError('conflict', `agent ${existing.id} already runs generation ${existing.gen}`);
        }
        await this.#finish(existing, 'stopped', 'superseded by a newer generation', { report: false });
      }
      const run = this.#createRun(request);
      this.#runs.set(run.id, run);
      await this.#launch(run);
      return run.status();
    });
  }

  async deliver(agentId: string, input: unknown): Promise<AgentRuntimeStatus> {
    const body = parseBody(DeliverMessageRequestSchema, input);
    const run = this.#liveRun(agentId);
    // Synchronously, before any await: the run is busy again, so an idle exit cannot win the race.
    this.#cancelIdle(run);
    if (run.state === 'idle') run.state = 'running';
    run.activity = 'working';
    if (body.grant) {
      run.broker.push(body.grant, null, 'message');
      run.observeCredential();
    }
    await run.ready;
    const runtime = run.runtime;
    if (!run.isLive() || !runtime) throw new GastownError('conflict', `agent ${agentId} is ${run.state}`);
    run.sink?.record('agent.message', { chars: body.text.length, withGrant: body.grant !== null });
    await runtime.prompt(body.text);
    return run.status();
  }

  push(agentId: string, input: unknown): AgentRuntimeStatus {
    const body = parseBody(PushCredentialsRequestSchema, input);
    const run = this.#liveRun(agentId);
    run.broker.push(body.grant, body.refresh, 'push');
    run.sink?.record('credential.pushed', { gen: body.grant.gen, accessTokenExpiresAt: body.grant.accessTokenExpiresAt, withRefresh: body.refresh !== null });
    run.observeCredential();
    return run.status();
  }

  async stop(agentId: string, input: unknown): Promise<AgentRuntimeStatus> {
    const { reason } = parseBody(StopAgentRequestSchema, input === undefined ? {} : input);
    if (!this.#runs.has(agentId)) throw notFound(agentId);
    return this.#queue.run(agentId, async () => {
      const run = this.#runs.get(agentId);
      if (!run) throw notFound(agentId);
      if (run.isLive()) await this.#finish(run, 'stopped', reason, { report: true });
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

  merge(input: unknown): { accepted: true; request: MergeRequest } {
    const request = parseBody(MergeRequestSchema, input);
    validRig(request.rig);
    const run = this.#liveRun(request.agentId);
    if (run.role !== 'refinery') throw new GastownError('role_forbidden', 'merges are reported by a refinery');
    const job = runMerge({ request, run, git: this.#deps.git, logger: run.log });
    run.pending.add(job);
    this.#jobs.add(job);
    void job.finally(() => {
      run.pending.delete(job);
      this.#jobs.delete(job);
    });
    return { accepted: true, request };
  }

  /** Resolves when every accepted merge has been reported (or given up). */
  async drain(): Promise<void> {
    while (this.#jobs.size > 0) await Promise.allSettled([...this.#jobs]);
  }

  /** SIGTERM: refuse new starts, stop every live agent (reports, flushes); past the budget, stop runtimes without waiting. */
  async stopAll(reason = 'container shutdown'): Promise<void> {
    this.#shuttingDown = true;
    const live = [...this.#runs.values()].filter((run) => run.isLive());
    const graceful = Promise.allSettled(live.map((run) => this.stop(run.id, { reason })));
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

  #createRun(request: StartAgent): AgentRun {
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
    return new AgentRun(request, broker, d.clock.now(), log);
  }

  async #launch(run: AgentRun): Promise<void> {
    const d = this.#deps;
    const { request, agent } = { request: run.request, agent: run.agent };
    try {
      run.broker.start();
      const client = d.createClient({ agent, controlPlaneUrl: request.controlPlaneUrl, broker: run.broker, fetch: d.fetch, logger: run.log.child({ component: 'client' }) });
      run.client = client;
      run.sink = d.createEventSink({ client, clock: d.clock, random: d.random, timers: d.timers, logger: run.log.child({ component: 'events' }) });
      run.heartbeat = d.createHeartbeat({
        client,
        broker: run.broker,
        intervalMs: d.settings.heartbeatIntervalMs,
        snapshot: () => run.heartbeatRequest(d.settings.instanceId),
        clock: d.clock,
        timers: d.timers,
        logger: run.log.child({ component: 'heartbeat' }),
      });
      run.heartbeat.start();
      run.sink.record('agent.starting', { gen: agent.gen, role: agent.role, containerInstanceId: d.settings.instanceId });

      await this.#prepareWorkspace(run);
      const stateDir = join(d.settings.dataDir, 'agent-state', agent.id);
      await mkdir(stateDir, { recursive: true });

      const { brokerKey } = d.brokerApi.register({ agent, broker: run.broker, client, provider: request.runtime.provider });
      run.registered = true;
      const runtime = d.createRuntime({
        kind: request.runtime.kind,
        agent,
        workdir: run.workdir!,
        stateDir,
        brokerUrl: d.brokerApi.url,
        brokerKey,
        provider: request.runtime.provider,
        pluginPath: d.settings.pluginPath,
        instructions: request.instructions,
        logger: run.log.child({ component: 'runtime' }),
      });
      run.runtime = runtime;
      run.unsubscribe = runtime.onEvent((event) => this.#onRuntimeEvent(run, event));
      await runtime.start();
      if (run.state !== 'starting') throw new GastownError('internal', run.lastError ?? 'runtime exited during start');
      run.state = 'running';
      run.sink.record('agent.started', { pid: runtime.pid, sessionId: runtime.sessionId, workdir: run.workdir, branch: run.branch });
      run.log.info('agent.started', { pid: runtime.pid });

      if (request.prompt !== null) {
        run.activity = 'working';
        await runtime.prompt(request.prompt);
      } else {
        this.#becomeIdle(run);
      }
      run.markReady();
      void run.heartbeat.beatNow();
    } catch (error) {
      const failure = asGastownError(error);
      run.lastError = failure.message;
      run.log.error('agent.start_failed', { code: failure.code, error: failure.message });
      run.markStartFailed(failure);
      await this.#teardown(run, 'failed');
      throw failure;
    }
  }

  async #prepareWorkspace(run: AgentRun): Promise<void> {
    const { request, agent } = run;
    switch (agent.role) {
      case 'mayor': {
        const dir = join(this.#deps.settings.dataDir, 'scratch', agent.id);
        await mkdir(dir, { recursive: true });
        run.workdir = dir;
        return;
      }
      case 'polecat': {
        const { path, branch } = await this.#deps.git.createWorktree(request.rig!, agent.id, request.bead!.id).catch(remoteFailed);
        run.workdir = path;
        run.branch = branch;
        return;
      }
      case 'refinery':
        run.workdir = await this.#deps.git.createClone(request.rig!, agent.id).catch(remoteFailed);
        return;
    }
  }

  #onRuntimeEvent(run: AgentRun, event: RuntimeEvent): void {
    if (this.#runs.get(run.id) !== run) return; // a superseded run
    const record = recordFor(event);
    if (record && run.isLive()) run.sink?.record(record.type, record.data);
    switch (event.type) {
      case 'session.busy':
        if (run.state === 'running' || run.state === 'idle') {
          this.#cancelIdle(run);
          const wasIdle = run.state === 'idle' || run.activity === 'waiting';
          run.state = 'running';
          run.activity = 'working';
          if (wasIdle) void run.heartbeat?.beatNow();
        }
        return;
      case 'session.idle':
        if (run.state === 'running' || run.state === 'idle') {
          this.#becomeIdle(run);
          void run.heartbeat?.beatNow();
        }
        return;
      case 'error':
        run.lastError = event.message.slice(0, 500);
        return;
      case 'exit':
        if (run.state === 'starting') {
          run.state = 'failed';
          run.lastError = `runtime exited during start (code ${event.code}, signal ${event.signal})`;
        } else if (run.isLive()) {
          const reason = `runtime exited unexpectedly (code ${event.code}, signal ${event.signal})`;
          run.lastError = reason;
          run.log.error('agent.runtime_exited', { code: event.code, signal: event.signal });
          void this.#queue.run(run.id, async () => {
            if (run.isLive()) await this.#finish(run, 'failed', reason, { report: true });
          });
        }
        return;
      default:
        return;
    }
  }

  /** idle: the mayor waits; a polecat/refinery arms its idle timer. */
  #becomeIdle(run: AgentRun): void {
    run.state = 'idle';
    run.activity = 'waiting';
    if (run.role === 'mayor') return;
    this.#cancelIdle(run);
    const seconds = run.request.runtime.idleTimeoutSeconds;
    const ms = seconds !== null ? seconds * 1000 : this.#deps.settings.idleTimeoutMs[run.role];
    run.idleTimer = this.#deps.timers.setTimeout(() => {
      run.idleTimer = null;
      void this.#queue.run(run.id, async () => {
        if (this.#runs.get(run.id) === run && run.state === 'idle') await this.#finish(run, 'completed', 'idle timeout', { report: true });
      });
    }, ms);
  }

  #cancelIdle(run: AgentRun): void {
    if (run.idleTimer !== null) {
      this.#deps.timers.clearTimeout(run.idleTimer);
      run.idleTimer = null;
    }
  }

  /**
   * Orderly end of a live run: stop the runtime, push the branch (polecat), let pending
   * merge callbacks finish, flush events, report completion, stop the broker.
   */
  async #finish(run: AgentRun, outcome: Outcome, reason: string, options: { report: boolean }): Promise<void> {
    run.state = 'exiting';
    this.#cancelIdle(run);
    run.log.info('agent.exiting', { outcome, reason });
    await this.#stopRuntime(run);

    let finalOutcome = outcome;
    let finalReason = reason;
    let branch: string | null = null;
    if (run.role === 'polecat' && run.workdir && run.branch && run.request.rig) {
      try {
        await this.#deps.git.pushBranch(run.request.rig, run.workdir, run.branch);
        branch = run.branch;
      } catch (error) {
        const message = asGastownError(error).message;
        run.log.error('agent.branch_push_failed', { branch: run.branch, error: message });
        if (finalOutcome === 'completed') finalOutcome = 'failed';
        finalReason = `${reason}; branch push failed: ${message}`.slice(0, 2000);
      }
    }
    await Promise.allSettled([...run.pending]);
    run.sink?.record('agent.exited', { outcome: finalOutcome, reason: finalReason, branch });
    await this.#teardown(run, finalOutcome === 'failed' ? 'failed' : 'exited', options.report ? { outcome: finalOutcome, reason: finalReason, branch } : null);
  }

  /** Release everything a run holds; report completion first if asked. Never throws. */
  async #teardown(run: AgentRun, finalState: 'exited' | 'failed', completion: CompletionRequest | null = null): Promise<void> {
    this.#cancelIdle(run);
    await this.#stopRuntime(run);
    run.heartbeat?.stop();
    await run.sink?.close().catch((error: unknown) => run.log.warn('agent.events_flush_failed', { error: String(error) }));
    if (completion && run.client) {
      try {
        await run.client.completion(completion);
      } catch (error) {
        run.log.error('agent.completion_report_failed', { outcome: completion.outcome, error: asGastownError(error).message });
      }
    }
    run.freezeCredential();
    run.broker.stop();
    if (run.registered) {
      this.#deps.brokerApi.unregister(run.id);
      run.registered = false;
    }
    run.state = finalState;
    if (finalState === 'exited') run.activity = 'waiting';
    run.log.info('agent.ended', { state: finalState, outcome: completion?.outcome ?? null });
  }

  async #stopRuntime(run: AgentRun): Promise<void> {
    const runtime = run.runtime;
    if (!runtime || run.runtimeStopped) return;
    run.runtimeStopped = true;
    try {
      await runtime.stop();
    } catch (error) {
      run.log.warn('agent.runtime_stop_failed', { error: asGastownError(error).message });
    }
    run.unsubscribe?.();
    run.unsubscribe = null;
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
}

/** A git command that failed while fetching or checking out the rig (an unreachable or missing remote): 502, not a container bug. */
function remoteFailed(error: unknown): never {
  if (error instanceof GitCommandError) throw new GastownError('upstream_failed', error.message, { cause: error });
  throw error;
}

function notFound(agentId: string): GastownError {
  return new GastownError('not_found', `no agent ${agentId} in this container`);
}

export function asGastownError(error: unknown): GastownError {
  if (error instanceof GastownError) return error;
  return new GastownError('internal', error instanceof Error ? error.message : String(error), { cause: error });
}
