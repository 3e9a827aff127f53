/**
 * One agent's `opencode serve` / `kilo serve` process, driven with @opencode-ai/sdk:
 * spawn → listening URL → event stream connected → one session; prompts go into that session.
 * A restored run imports its saved conversation as the agent before `serve` starts and then
 * continues that session (./session-import.ts); short commands run as the agent the same way.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createOpencodeClient, type OpencodeClient } from '@opencode-ai/sdk';
import { asGastownError, codeOf, type Clock } from '@gastown/protocol';
import type {
  AgentCommandOptions,
  AgentCommandResult,
  AgentRuntime,
  Logger,
  RestoreOutcome,
  RuntimeEvent,
  RuntimeOptions,
  RuntimeRestore,
  SecretSink,
  Timers,
} from '../contracts';
import { redactString } from '../log/redact';
import type { IsolationLevel } from '../sandbox/isolation';
import { NO_SANDBOX, type Sandbox } from '../sandbox/sandbox';
import type { SandboxLease } from '../sandbox/sandbox-lease';
import type { SessionExport } from '../session/snapshot-codec';
import { resolveExecutable, runAgentCommand } from './agent-command';
import { buildRuntimeConfig } from './config';
import { buildRuntimeEnv, withoutAgentSecrets } from './env';
import { RuntimeError } from './errors';
import { EventNormaliser } from './events';
import type { RuntimeFlavor } from './flavor';
import { ServeProcess, type ExitInfo } from './serve-process';
import { exportSession, hasSession } from './session-export';
import { importSession } from './session-import';
import { prepareStateDir, runtimePaths, type RuntimePaths } from './state-dir';

export interface ServeRuntimeDeps {
  flavor: RuntimeFlavor;
  /** The runtime binary; throws RuntimeError('runtime_binary_missing'). */
  binary: () => string;
  clock: Clock;
  timers: Timers;
  /** A fresh random secret (the server password). */
  generateSecret: () => string;
  /** The container's environment; only an allow-list of it is passed on. */
  baseEnv: Readonly<Record<string, string | undefined>>;
  startTimeoutMs: number;
  stopGraceMs: number;
  requestTimeoutMs: number;
  secrets?: SecretSink;
  /** Where each run's isolation comes from. Default: none (the container's uid, no namespaces). */
  sandbox?: Sandbox;
}

type Phase = 'new' | 'starting' | 'running' | 'stopping' | 'exited';

const RECONNECT_MAX_MS = 5_000;

export class ServeRuntime implements AgentRuntime {
  readonly #options: RuntimeOptions;
  readonly #deps: ServeRuntimeDeps;
  readonly #log: Logger;
  readonly #paths: RuntimePaths;
  readonly #listeners = new Set<(event: RuntimeEvent) => void>();
  readonly #normaliser = new EventNormaliser();
  readonly #events = new AbortController();
  #phase: Phase = 'new';
  #process: ServeProcess | null = null;
  #client: OpencodeClient | null = null;
  #sessionId: string | null = null;
  #password = '';
  #url: string | null = null;
  #listeningMs: number | null = null;
  #stopping: Promise<void> | null = null;
  #connected: (() => void) | null = null;
  #lease: SandboxLease | null = null;
  /** The agent's environment (serve's, and every command run as the agent). */
  #env: Record<string, string> | null = null;
  /** The session the import put in place (checked once serve is up). */
  #imported: { sessionId: string; importMs: number } | null = null;
  #restoreOutcome: RestoreOutcome | null = null;

  constructor(options: RuntimeOptions, deps: ServeRuntimeDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#paths = runtimePaths(options.stateDir, deps.flavor);
    this.#log = options.logger.child({ component: 'runtime', kind: deps.flavor.kind, agentId: options.agent.id });
  }

  get pid(): number | null {
    return this.#process?.pid ?? null;
  }

  get sessionId(): string | null {
    return this.#sessionId;
  }

  /** Loopback URL of the server once listening (Basic auth protected). */
  get url(): string | null {
    return this.#url;
  }

  /** Milliseconds from spawn to the listening line. */
  get listeningMs(): number | null {
    return this.#listeningMs;
  }

  /** Whether the main session is working on a turn (from the event stream). */
  get busy(): boolean {
    return this.#normaliser.busy;
  }

  /** The HOME of the agent process: every process of this agent carries `HOME=<it>`. */
  get home(): string {
    return this.#paths.home;
  }

  /** How this run is isolated (the sandbox's level until the run has its lease). */
  get isolation(): IsolationLevel {
    return this.#lease?.level ?? (this.#deps.sandbox ?? NO_SANDBOX).level;
  }

  /** The agent's own uid, or null when it runs as the container's uid. */
  get uid(): number | null {
    return this.#lease?.uid ?? null;
  }

  get restoreOutcome(): RestoreOutcome | null {
    return this.#restoreOutcome;
  }

  /**
   * Resident memory in bytes (Linux), or null: of the server process, or — when the run has
   * its own uid — of every process of that uid (the server and its tools; the pid is bwrap's).
   */
  rssBytes(): number | null {
    const pid = this.pid;
    if (pid === null || this.#phase === 'exited') return null;
    if (this.#lease?.uid != null) return this.#lease.rssBytes();
    try {
      const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match?.[1] ? Number(match[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  onEvent(listener: (event: RuntimeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async start(): Promise<void> {
    if (this.#phase !== 'new') throw new RuntimeError('runtime_not_running', `start() called twice (runtime is ${this.#phase})`);
    this.#phase = 'starting';
    try {
      await this.#spawn();
      await this.#connectEvents();
      await this.#openSession();
    } catch (error) {
      this.#log.warn('runtime.start_failed', { code: error instanceof RuntimeError ? error.runtimeCode : 'unknown', pid: this.pid });
      await this.stop();
      throw error;
    }
    if (this.#phase !== 'starting') throw new RuntimeError('runtime_exited', 'the runtime exited while starting');
    this.#phase = 'running';
    this.#log.info('runtime.ready', { pid: this.pid, sessionId: this.#sessionId, listeningMs: this.#listeningMs });
  }

  async prompt(text: string): Promise<void> {
    const client = this.#client;
    const sessionId = this.#sessionId;
    if (this.#phase !== 'running' || !client || !sessionId) throw new RuntimeError('runtime_not_running', `cannot prompt: the runtime is ${this.#phase}`);
    let result: { error?: unknown; response: Response };
    try {
      result = await client.session.promptAsync({
        path: { id: sessionId },
        body: { parts: [{ type: 'text', text }] },
        signal: AbortSignal.timeout(this.#deps.requestTimeoutMs),
      });
    } catch (error) {
      throw new RuntimeError('runtime_prompt_failed', `the runtime did not accept the prompt: ${error instanceof Error ? error.message : 'request failed'}`, {
        cause: error,
      });
    }
    if (result.error !== undefined || !result.response.ok) {
      throw new RuntimeError('runtime_prompt_failed', `the runtime refused the prompt (HTTP ${result.response.status})`);
    }
  }

  async note(text: string): Promise<void> {
    const client = this.#client;
    const sessionId = this.#sessionId;
    if (this.#phase !== 'running' || !client || !sessionId) throw new RuntimeError('runtime_not_running', `cannot add a note: the runtime is ${this.#phase}`);
    let result: { error?: unknown; response: Response };
    try {
      // noReply: the message joins the session and no turn starts; the model reads it at its next call
      result = await client.session.prompt({
        path: { id: sessionId },
        body: { noReply: true, parts: [{ type: 'text', text }] },
        signal: AbortSignal.timeout(this.#deps.requestTimeoutMs),
      });
    } catch (error) {
      throw new RuntimeError('runtime_prompt_failed', `the runtime did not accept the note: ${error instanceof Error ? error.message : 'request failed'}`, {
        cause: error,
      });
    }
    if (result.error !== undefined || !result.response.ok) {
      throw new RuntimeError('runtime_prompt_failed', `the runtime refused the note (HTTP ${result.response.status})`);
    }
  }

  async exportSession(): Promise<SessionExport> {
    const client = this.#client;
    const id = this.#sessionId;
    if (this.#phase !== 'running' || !client || !id) throw new RuntimeError('runtime_not_running', `cannot export the session: the runtime is ${this.#phase}`);
    return exportSession(client, id, this.#deps.requestTimeoutMs);
  }

  async runAsAgent(file: string, args: string[], options: AgentCommandOptions): Promise<AgentCommandResult> {
    if (this.#phase !== 'running') throw new RuntimeError('runtime_not_running', `cannot run a command as the agent: the runtime is ${this.#phase}`);
    return this.#runCommand(file, args, options);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#phase !== 'exited') this.#phase = 'stopping';
    this.#events.abort();
    const proc = this.#process;
    if (proc) {
      const lease = this.#lease;
      const info = await proc.stop(this.#deps.stopGraceMs, `HOME=${this.#paths.home}`, lease ? (signal) => lease.terminate(signal) : undefined);
      this.#log.info('runtime.stopped', { pid: proc.pid, code: info.code, signal: info.signal });
      if (proc.survivors.length > 0) this.#log.error('runtime.orphans', { pid: proc.pid, survivors: proc.survivors });
    }
    // every process of the agent's uid is killed before the uid goes back to the pool
    await this.#lease?.release();
    this.#phase = 'exited';
  }

  // ---- start steps ------------------------------------------------------------

  async #spawn(): Promise<void> {
    const { options, flavor } = { options: this.#options, flavor: this.#deps.flavor };
    const binary = this.#deps.binary();
    try {
      await prepareStateDir(this.#paths, flavor, options.instructions);
    } catch (error) {
      throw new RuntimeError('runtime_spawn_failed', `could not prepare the agent state dir: ${error instanceof Error ? error.message : 'error'}`, {
        cause: error,
      });
    }
    this.#password = this.#deps.generateSecret();
    this.#deps.secrets?.add(this.#password);
    const instructionFiles = [this.#paths.instructionsFile];
    const repoAgents = join(options.workdir, 'AGENTS.md');
    if (existsSync(repoAgents)) instructionFiles.push(repoAgents);
    const config = buildRuntimeConfig({
      brokerUrl: options.brokerUrl,
      brokerKey: options.brokerKey,
      providerKind: options.provider.kind,
      model: options.model,
      smallModel: options.smallModel,
      schemaUrl: flavor.configSchemaUrl,
      pluginPath: options.pluginPath,
      instructionFiles,
    });
    const env = buildRuntimeEnv({
      flavor,
      agent: options.agent,
      paths: this.#paths,
      brokerUrl: options.brokerUrl,
      brokerKey: options.brokerKey,
      serverPassword: this.#password,
      config,
      baseEnv: this.#deps.baseEnv,
    });
    this.#env = env;
    const lease = await this.#acquireLease(binary);
    // the rig's setup command (the supervisor's step): as the agent, before anything of the agent runs
    if (options.prepare) await options.prepare((file, args, commandOptions) => this.#runCommand(file, args, commandOptions, { bare: true }));
    if (options.restore) await this.#importSession(binary, options.restore);
    const plan = lease.plan(binary, ['serve', '--port', '0', '--hostname', '127.0.0.1'], options.workdir);
    const startedAt = this.#deps.clock.now();
    const proc = new ServeProcess({
      binary: plan.file,
      args: plan.args,
      cwd: plan.cwd,
      env,
      timers: this.#deps.timers,
      redact: [options.brokerKey, this.#password],
      ...(plan.uid === undefined ? {} : { uid: plan.uid }),
      ...(plan.gid === undefined ? {} : { gid: plan.gid }),
    });
    this.#process = proc;
    void proc.exited.then((info) => this.#onExit(info));
    this.#url = await proc.waitForListening(this.#deps.startTimeoutMs);
    this.#listeningMs = this.#deps.clock.now() - startedAt;
    this.#log.info('runtime.listening', { pid: proc.pid, url: this.#url, listeningMs: this.#listeningMs });
    const basic = Buffer.from(`${flavor.username}:${this.#password}`).toString('base64');
    this.#client = createOpencodeClient({ baseUrl: this.#url, headers: { Authorization: `Basic ${basic}` } });
  }

  /** This run's isolation: its uid and paths handed over, its view worked out. */
  async #acquireLease(binary: string): Promise<SandboxLease> {
    // inside bwrap a missing binary is only an exit code; say what it is before
    if (!isExecutableFile(binary)) throw new RuntimeError('runtime_spawn_failed', `the runtime could not be spawned: ${binary} is not an executable file`);
    const sandbox = this.#deps.sandbox ?? NO_SANDBOX;
    try {
      this.#lease = await sandbox.acquire({
        agentId: this.#options.agent.id,
        rigId: this.#options.agent.rigId,
        stateDir: this.#paths.stateDir,
        home: this.#paths.home,
        tmpDir: this.#paths.tmpDir,
        workdir: this.#options.workdir,
        privateFiles: [this.#paths.instructionsFile],
        toolchain: [binary, this.#options.pluginPath],
      });
    } catch (error) {
      throw new RuntimeError('runtime_spawn_failed', `could not isolate the agent (${sandbox.level}): ${error instanceof Error ? error.message : 'error'}`, {
        cause: error,
      });
    }
    return this.#lease;
  }

  /** Import the saved conversation as the agent; a failure is remembered (a fresh session follows), never thrown. */
  async #importSession(binary: string, restore: RuntimeRestore): Promise<void> {
    const startedAt = this.#deps.clock.now();
    try {
      await importSession({
        content: restore.importFile,
        tmpDir: this.#paths.tmpDir,
        uid: this.#lease?.uid ?? null,
        nonce: this.#deps.generateSecret(),
        runImport: (path) => this.#runCommand(binary, ['import', path], { cwd: this.#options.workdir, timeoutMs: this.#deps.startTimeoutMs }),
      });
      this.#imported = { sessionId: restore.sessionId, importMs: this.#deps.clock.now() - startedAt };
      this.#log.info('runtime.session_imported', { sessionId: restore.sessionId, importMs: this.#imported.importMs, bytes: restore.importFile.length });
    } catch (error) {
      this.#restoreFailed(error);
    }
  }

  #restoreFailed(error: unknown): void {
    const failure = asGastownError(error, 'internal', 'the session restore failed');
    this.#restoreOutcome = { ok: false, error: failure };
    this.#log.warn('runtime.session_restore_failed', {
      code: codeOf(failure),
      runtimeCode: failure instanceof RuntimeError ? failure.runtimeCode : null,
      error: failure.message,
    });
  }

  /**
   * A short command as the agent: the run's lease plan, the agent's env, output redacted like serve's.
   * `bare`: without the agent's secrets and runtime config (withoutAgentSecrets) — a setup command.
   */
  async #runCommand(file: string, args: string[], options: AgentCommandOptions, { bare = false } = {}): Promise<AgentCommandResult> {
    const lease = this.#lease;
    const env = this.#env;
    if (!lease || !env) throw new RuntimeError('runtime_not_running', 'the runtime has no sandbox lease yet');
    const fullEnv = { ...(bare ? withoutAgentSecrets(env, this.#deps.flavor) : env), ...options.env };
    const executable = resolveExecutable(file, fullEnv.PATH);
    if (!executable) throw new RuntimeError('runtime_command_failed', `${file} is not an executable file`);
    const plan = lease.plan(executable, args, options.cwd);
    const secrets = [this.#options.brokerKey, this.#password].filter((secret) => secret.length > 0);
    return runAgentCommand({
      file: plan.file,
      args: plan.args,
      cwd: plan.cwd,
      env: fullEnv,
      timeoutMs: options.timeoutMs,
      timers: this.#deps.timers,
      redact: (text) => redactString(text, secrets),
      ...(plan.uid === undefined ? {} : { uid: plan.uid }),
      ...(plan.gid === undefined ? {} : { gid: plan.gid }),
    });
  }

  /** Subscribe to `/event` and wait for its `server.connected`, so no event of the session is missed. */
  async #connectEvents(): Promise<void> {
    const connected = new Promise<void>((resolve) => {
      this.#connected = resolve;
    });
    void this.#pumpEvents();
    await this.#withTimeout(connected, 'the runtime event stream did not connect');
  }

  /** The imported session when the runtime has it; otherwise a new one. */
  async #openSession(): Promise<void> {
    const imported = this.#imported;
    if (imported) {
      if (await hasSession(this.#requireClient(), imported.sessionId, this.#deps.requestTimeoutMs)) {
        this.#useSession(imported.sessionId);
        this.#restoreOutcome = { ok: true, sessionId: imported.sessionId, importMs: imported.importMs };
        return;
      }
      this.#restoreFailed(new RuntimeError('runtime_restore_failed', 'the runtime does not have the imported session'));
    }
    await this.#createSession();
  }

  #useSession(id: string): void {
    this.#sessionId = id;
    this.#normaliser.setSession(id);
  }

  async #createSession(): Promise<void> {
    const client = this.#requireClient();
    let result: Awaited<ReturnType<OpencodeClient['session']['create']>>;
    try {
      result = await client.session.create({
        body: { title: `${this.#options.agent.role} ${this.#options.agent.name}` },
        signal: AbortSignal.timeout(this.#deps.requestTimeoutMs),
      });
    } catch (error) {
      throw new RuntimeError('runtime_session_failed', `could not create the session: ${error instanceof Error ? error.message : 'request failed'}`, {
        cause: error,
      });
    }
    const id = result.data?.id;
    if (!id) throw new RuntimeError('runtime_session_failed', `could not create the session (HTTP ${result.response.status})`);
    this.#useSession(id);
  }

  // ---- events -------------------------------------------------------------------

  async #pumpEvents(): Promise<void> {
    const client = this.#requireClient();
    let failures = 0;
    while (!this.#events.signal.aborted) {
      let sseError: unknown = null;
      try {
        const { stream } = await client.event.subscribe({
          signal: this.#events.signal,
          sseMaxRetryAttempts: 1,
          onSseError: (error) => {
            sseError = error;
          },
        });
        for await (const raw of stream) {
          failures = 0;
          this.#onRaw(raw);
        }
      } catch (error) {
        sseError = error;
      }
      if (this.#events.signal.aborted) break;
      failures += 1;
      this.#log.warn('runtime.events_reconnect', { failures, error: sseError instanceof Error ? sseError.message : null });
      await new Promise<void>((resolve) => this.#deps.timers.setTimeout(resolve, Math.min(100 * 2 ** failures, RECONNECT_MAX_MS)));
    }
  }

  #onRaw(raw: unknown): void {
    if (typeof raw === 'object' && raw !== null && (raw as { type?: unknown }).type === 'server.connected') {
      this.#connected?.();
      this.#connected = null;
      return;
    }
    for (const event of this.#normaliser.normalise(raw)) {
      if (event.type === 'error') this.#log.warn('runtime.error', { sessionId: event.sessionId, message: event.message });
      this.#emit(event);
    }
  }

  #onExit(info: ExitInfo): void {
    this.#events.abort();
    const unexpected = this.#phase === 'running' || this.#phase === 'starting';
    this.#phase = 'exited';
    if (this.#password) this.#deps.secrets?.remove(this.#password);
    if (unexpected) this.#log.warn('runtime.exited', { pid: this.pid, code: info.code, signal: info.signal, output: this.#process?.outputTail().slice(-500) });
    this.#emit({ type: 'exit', code: info.code, signal: info.signal });
  }

  #emit(event: RuntimeEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#log.error('runtime.listener_failed', { event: event.type, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  // ---- helpers --------------------------------------------------------------------

  #requireClient(): OpencodeClient {
    if (!this.#client) throw new RuntimeError('runtime_not_running', 'the runtime has no client yet');
    return this.#client;
  }

  /** Race a start step against the start timeout and the process exiting. */
  #withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    const proc = this.#process;
    return new Promise<T>((resolve, reject) => {
      const timer = this.#deps.timers.setTimeout(
        () => reject(new RuntimeError('runtime_start_timeout', `${what} within ${this.#deps.startTimeoutMs} ms`)),
        this.#deps.startTimeoutMs,
      );
      void proc?.exited.then(() =>
        reject(new RuntimeError('runtime_exited', `the runtime exited while starting; output: ${proc.outputTail().slice(-1_000) || '(none)'}`)),
      );
      promise.then(
        (value) => {
          this.#deps.timers.clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          this.#deps.timers.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
