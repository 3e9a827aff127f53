import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GastownError } from '@gastown/protocol';
import type {
  AccessTokenGrant,
  AgentEvent,
  AgentRole,
  CompletionRequest,
  GitTokenGrant,
  CredentialStatus,
  HeartbeatRequest,
  MergeResultRequest,
  ProviderConfig,
  RigRef,
  SessionSnapshotRecord,
  StartAgentRequest,
} from '@gastown/protocol';
import type { AgentRegistration, BrokerApi } from '../../src/broker-api';
import type { BrokerOptions, ControlPlaneClient, CredentialBroker, StoredSnapshot } from '../../src/broker';
import type { EventSink, EventSinkOptions, HeartbeatLoop, HeartbeatLoopOptions } from '../../src/consumers';
import type { AgentCommandResult, AgentRuntime, RestoreOutcome, RuntimeEvent, RuntimeOptions } from '../../src/contracts';
import type { GitTokenRegistry, GitWorkspace } from '../../src/git';
import type { Logger, SecretSink, SecretSource } from '../../src/log';
import type { SessionExport } from '../../src/session';
import type { Timers } from '../../src/timers';
import { AgentSupervisor, type SupervisorSettings } from '../../src/supervisor';

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** Timers that defer to the (possibly vi-faked) globals at call time. */
export const globalTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export const RIG: RigRef = { id: 'rig_abc123', name: 'demo', gitUrl: 'https://git.example.com/demo.git', defaultBranch: 'main', auth: 'none' };

const IDS: Record<AgentRole, string> = { mayor: 'ag_mayor001', polecat: 'ag_polecat01', refinery: 'ag_refinery1' };

export function startRequest(role: AgentRole, overrides: Partial<StartAgentRequest> & { gen?: number } = {}): StartAgentRequest {
  const gen = overrides.gen ?? 1;
  const { gen: _gen, ...rest } = overrides;
  return {
    agent: { id: IDS[role], townId: 'town_abc123', rigId: role === 'mayor' ? null : RIG.id, userId: 'user-1', role, name: role, gen },
    controlPlaneUrl: 'http://127.0.0.1:8787',
    credentials: {
      accessToken: `access-token-${role}-gen${gen}-0123456789`,
      accessTokenExpiresAt: 1_000_000 + 3_600_000,
      accessTokenIssuedAt: 1_000_000,
      refreshCredential: 'gtr_refresh_credential_0123456789',
      refreshCredentialExpiresAt: 1_000_000 + 7 * 24 * 3_600_000,
      gen,
    },
    runtime: {
      kind: 'opencode',
      provider: { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9999/v1', model: 'fake-model', apiKeyEnvVar: 'OPENAI_API_KEY' },
    },
    rig: role === 'mayor' ? null : RIG,
    bead: role === 'polecat' ? { id: 'bd_bead0001', title: 'Do it', body: 'details' } : null,
    instructions: 'be good',
    prompt: role === 'mayor' ? null : 'start working',
    ...rest,
  };
}

/** A runtime's session export holding `prompts` as its user messages (the opencode export shape). */
export function exportOf(sessionId: string, prompts: readonly string[]): SessionExport {
  return {
    session: { id: sessionId, title: 'fake session' },
    messages: prompts.map((text, i) => ({ info: { id: `msg_${i + 1}`, role: 'user', sessionID: sessionId }, parts: [{ type: 'text', text }] })),
  };
}

export function grant(gen: number, at: number): AccessTokenGrant {
  return { accessToken: `pushed-token-gen${gen}-at${at}-0123456789`, accessTokenExpiresAt: at + 3_600_000, accessTokenIssuedAt: at, gen };
}

/** Shared call log: every fake appends `<agentId>:<what>` so tests can assert order across components. */
export type CallLog = string[];

export class FakeBroker implements CredentialBroker {
  readonly agentId: string;
  readonly pushes: Array<{ grant: AccessTokenGrant; refresh: unknown; source: string | undefined }> = [];
  started = false;
  stopped = false;
  state: CredentialStatus;
  constructor(
    readonly options: BrokerOptions,
    private readonly log: CallLog,
  ) {
    this.agentId = options.agent.id;
    this.state = {
      accessTokenExpiresAt: options.initial.accessTokenExpiresAt,
      tokenFingerprint: 'abcdef01',
      nextRefreshAt: null,
      lastRefreshAt: null,
      lastRefreshSource: 'dispatch',
      refreshCount: 0,
      consecutiveFailures: 0,
      unauthorizedCount: 0,
      lastError: null,
      state: 'valid',
    };
  }
  async accessToken() {
    return this.options.initial.accessToken;
  }
  async handleUnauthorized() {}
  push(g: AccessTokenGrant, refresh?: unknown, source?: 'push' | 'message') {
    this.log.push(`${this.agentId}:broker.push:${source}`);
    this.pushes.push({ grant: g, refresh: refresh ?? null, source });
    this.state = {
      ...this.state,
      accessTokenExpiresAt: g.accessTokenExpiresAt,
      lastRefreshAt: g.accessTokenIssuedAt,
      lastRefreshSource: source ?? 'push',
      refreshCount: this.state.refreshCount + 1,
    };
  }
  status() {
    return this.state;
  }
  start() {
    this.started = true;
    this.log.push(`${this.agentId}:broker.start`);
  }
  stop() {
    this.stopped = true;
    this.log.push(`${this.agentId}:broker.stop`);
  }
}

export class FakeClient implements ControlPlaneClient {
  readonly heartbeats: HeartbeatRequest[] = [];
  readonly completions: CompletionRequest[] = [];
  readonly mergeResults: MergeResultRequest[] = [];
  /** When set, completion reports never settle (an unreachable control plane). */
  hangCompletion = false;
  /** The stored session snapshot (what getSession answers). */
  stored: StoredSnapshot | null = null;
  readonly sessionPuts: StoredSnapshot[] = [];
  /** When set, putSession fails with it; getSession fails with getSessionError. */
  putSessionError: Error | null = null;
  getSessionError: Error | null = null;
  constructor(
    readonly agentId: string,
    private readonly log: CallLog,
  ) {}
  /** Tool calls as they reached the control plane (after the container's own handling). */
  readonly tools: Array<{ name: string; args: unknown }> = [];
  async tool(name: string, args: unknown) {
    this.tools.push({ name, args });
    return {};
  }
  async heartbeat(body: HeartbeatRequest) {
    this.heartbeats.push(body);
    return { ok: true as const, gen: 1, serverTime: Date.now() };
  }
  async events() {
    return { accepted: 0, duplicates: 0 };
  }
  async completion(body: CompletionRequest) {
    this.log.push(`${this.agentId}:client.completion:${body.outcome}`);
    this.completions.push(body);
    if (this.hangCompletion) await new Promise(() => undefined);
  }
  async mergeResult(body: MergeResultRequest) {
    this.log.push(`${this.agentId}:client.mergeResult:${body.outcome}`);
    this.mergeResults.push(body);
  }
  async putSession(snapshot: StoredSnapshot): Promise<SessionSnapshotRecord> {
    if (this.putSessionError) throw this.putSessionError;
    this.sessionPuts.push(snapshot);
    this.stored = snapshot;
    return { ...snapshot.meta, bytes: snapshot.bytes.byteLength, sha256: snapshot.sha256, storedAt: Date.now() };
  }
  async getSession() {
    if (this.getSessionError) throw this.getSessionError;
    return this.stored;
  }
  /** Rigs whose git token was asked for. */
  readonly gitTokenRequests: string[] = [];
  async gitToken(rigId: string): Promise<GitTokenGrant> {
    this.gitTokenRequests.push(rigId);
    return { rigId, token: `git-token-${rigId}-${this.gitTokenRequests.length}-0123456789`, username: 'x-access-token', expiresAt: null };
  }
}

/** What the supervisor hands the heartbeat factory: its snapshot is the run's whole heartbeat request. */
type SupervisorHeartbeatOptions = Omit<HeartbeatLoopOptions, 'snapshot'> & { snapshot: () => HeartbeatRequest };

export class FakeHeartbeat implements HeartbeatLoop {
  running = false;
  beats = 0;
  constructor(
    readonly options: SupervisorHeartbeatOptions,
    readonly agentId: string,
    private readonly log: CallLog,
  ) {}
  start() {
    this.running = true;
    this.log.push(`${this.agentId}:heartbeat.start`);
  }
  async beat() {
    this.beats++;
    return this.options.client.heartbeat(this.options.snapshot());
  }
  stop() {
    this.running = false;
    this.log.push(`${this.agentId}:heartbeat.stop`);
  }
}

export class FakeSink implements EventSink {
  readonly records: Array<{ type: string; data: Record<string, unknown> }> = [];
  closed = false;
  constructor(
    readonly agentId: string,
    private readonly log: CallLog,
  ) {}
  emit(type: string, data: Record<string, unknown> = {}): AgentEvent {
    this.records.push({ type, data });
    return { id: `ev_fake_${this.records.length}`, type, at: Date.now(), data };
  }
  async flush() {
    return true;
  }
  async close() {
    this.closed = true;
    this.log.push(`${this.agentId}:events.close`);
    return true;
  }
  types(): string[] {
    return this.records.map((r) => r.type);
  }
}

export class FakeRuntime implements AgentRuntime {
  pid: number | null = null;
  sessionId: string | null = null;
  readonly isolation = 'none' as const;
  readonly prompts: string[] = [];
  stopped = false;
  startError: Error | null = null;
  restoreOutcome: RestoreOutcome | null = null;
  /** Exports made (saves and message waits). */
  exports = 0;
  readonly #listeners = new Set<(event: RuntimeEvent) => void>();
  constructor(
    readonly options: RuntimeOptions,
    private readonly log: CallLog,
    private readonly pidValue: number,
  ) {}
  /** Commands the prepare step ran (a setup command), and how they answer (default: exit 0, no output). */
  readonly prepared: Array<{ file: string; args: string[]; cwd: string; timeoutMs: number }> = [];
  prepareResult: () => AgentCommandResult = () => ({ code: 0, stdout: '', stderr: '' });
  /** Nudges taken (runtime `note`). */
  readonly notes: string[] = [];
  async start() {
    this.log.push(`${this.options.agent.id}:runtime.start`);
    if (this.options.prepare) {
      await this.options.prepare(async (file, args, commandOptions) => {
        this.prepared.push({ file, args, cwd: commandOptions.cwd, timeoutMs: commandOptions.timeoutMs });
        return this.prepareResult();
      });
    }
    if (this.startError) throw this.startError;
    this.pid = this.pidValue;
    const restore = this.options.restore;
    this.sessionId = restore ? restore.sessionId : `ses_${this.pidValue}`;
    if (restore) this.restoreOutcome = { ok: true, sessionId: restore.sessionId, importMs: 5 };
  }
  async exportSession(): Promise<SessionExport> {
    this.exports++;
    return exportOf(this.sessionId ?? 'ses_none', this.prompts);
  }
  /** Commands run as the agent (the drain commit), and how they answer: by default a worktree with changes to commit. */
  readonly commands: string[][] = [];
  commandResult: (args: string[]) => AgentCommandResult = (args) => ({ code: args.includes('diff') ? 1 : 0, stdout: '', stderr: '' });
  async runAsAgent(file: string, args: string[]): Promise<AgentCommandResult> {
    this.commands.push([file, ...args]);
    return this.commandResult(args);
  }
  async prompt(text: string) {
    this.log.push(`${this.options.agent.id}:runtime.prompt`);
    this.prompts.push(text);
  }
  async note(text: string) {
    this.log.push(`${this.options.agent.id}:runtime.note`);
    this.notes.push(text);
  }
  onEvent(listener: (event: RuntimeEvent) => void) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  emit(event: RuntimeEvent) {
    for (const listener of [...this.#listeners]) listener(event);
  }
  async stop() {
    this.stopped = true;
    this.log.push(`${this.options.agent.id}:runtime.stop`);
  }
}

export class FakeBrokerApi implements Pick<BrokerApi, 'registerAgent' | 'unregisterAgent'> {
  /** The harness gives the supervisor this as its broker URL. */
  readonly url = 'http://127.0.0.1:45678';
  /** Each live registration as the supervisor made it (models, usage and refusal callbacks included), with its key. */
  readonly registrations = new Map<string, AgentRegistration & { provider: ProviderConfig; brokerKey: string }>();
  #n = 0;
  constructor(private readonly log: CallLog) {}
  registerAgent(agentId: string, registration: AgentRegistration) {
    // the supervisor always registers its run's provider
    if (registration.provider === null) throw new Error('FakeBrokerApi: a run registers with a provider');
    const brokerKey = `gtb_fake_broker_key_${++this.#n}`;
    this.registrations.set(agentId, { ...registration, provider: registration.provider, brokerKey });
    this.log.push(`${agentId}:brokerApi.register`);
    return brokerKey;
  }
  unregisterAgent(agentId: string) {
    const had = this.registrations.delete(agentId);
    this.log.push(`${agentId}:brokerApi.unregister`);
    return had;
  }
}

export class FakeGit implements GitWorkspace {
  mergeResult: Awaited<ReturnType<GitWorkspace['merge']>> = { outcome: 'merged', commitSha: 'a'.repeat(40) };
  pushError: Error | null = null;
  /** What submitBranch answers (the commit the container copied). */
  submittedCommit = 'd'.repeat(40);
  submitError: Error | null = null;
  readonly merges: Array<{ branch: string; message: string }> = [];
  /** The approved commit of each merge, in order. */
  readonly mergeCommits: string[] = [];
  /** The strategy of each merge, in order. */
  readonly mergeStrategies: string[] = [];
  readonly pushes: Array<{ branch: string; capture: boolean }> = [];
  constructor(
    private readonly root: string,
    private readonly log: CallLog,
  ) {}
  async ensureMirror(rig: RigRef) {
    return join(this.root, 'mirrors', `${rig.id}.git`);
  }
  async createWorktree(_rig: RigRef, agentId: string, beadId: string) {
    this.log.push(`${agentId}:git.createWorktree`);
    return { path: join(this.root, 'worktrees', agentId), branch: `gt/${agentId}/${beadId}` };
  }
  async createClone(_rig: RigRef, agentId: string) {
    this.log.push(`${agentId}:git.createClone`);
    return join(this.root, 'clones', agentId);
  }
  async submitBranch(_rig: RigRef, workdir: string, branch: string) {
    this.log.push(`${workdir.split('/').at(-1)}:git.submitBranch:${branch}`);
    if (this.submitError) throw this.submitError;
    return this.submittedCommit;
  }
  async pushBranch(_rig: RigRef, workdir: string, branch: string, options: { capture?: boolean } = {}) {
    this.log.push(`${workdir.split('/').at(-1)}:git.pushBranch:${branch}`);
    this.pushes.push({ branch, capture: options.capture !== false });
    if (this.pushError) throw this.pushError;
  }
  async merge(_rig: RigRef, branch: string, message: string, commit: string, options: { strategy?: string } = {}) {
    this.merges.push({ branch, message });
    this.mergeCommits.push(commit);
    this.mergeStrategies.push(options.strategy ?? 'direct');
    return this.mergeResult;
  }
  async remove() {}
}

export interface Harness {
  supervisor: AgentSupervisor;
  log: CallLog;
  git: FakeGit;
  brokerApi: FakeBrokerApi;
  brokers: FakeBroker[];
  clients: FakeClient[];
  heartbeats: FakeHeartbeat[];
  sinks: FakeSink[];
  /** What the supervisor handed the event-sink factory, one per sink. */
  sinkOptions: EventSinkOptions[];
  runtimes: FakeRuntime[];
  dataDir: string;
  /** Latest instance of each fake for an agent. */
  latest(agentId: string): { broker: FakeBroker; client: FakeClient; heartbeat: FakeHeartbeat; sink: FakeSink; runtime: FakeRuntime };
}

export async function createHarness(
  options: {
    settings?: Partial<SupervisorSettings>;
    runtimeStartError?: Error;
    /** How each runtime's prepare step (a setup command) answers (default: exit 0). */
    setupResult?: () => AgentCommandResult;
    secrets?: SecretSink & SecretSource;
    /** Arrange each client as it is created (a stored session, a failing control plane). */
    onClient?: (client: FakeClient) => void;
    /** The container's git token brokers (private rigs). */
    gitTokens?: GitTokenRegistry;
  } = {},
): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gastown-supervisor-test-'));
  const log: CallLog = [];
  const git = new FakeGit(dataDir, log);
  const brokerApi = new FakeBrokerApi(log);
  const brokers: FakeBroker[] = [];
  const clients: FakeClient[] = [];
  const heartbeats: FakeHeartbeat[] = [];
  const sinks: FakeSink[] = [];
  const sinkOptions: EventSinkOptions[] = [];
  const runtimes: FakeRuntime[] = [];
  let pid = 1000;
  const supervisor = new AgentSupervisor({
    settings: {
      instanceId: 'ci_test0001',
      dataDir,
      pluginPath: '/opt/gastown/plugin.js',
      brokerUrl: brokerApi.url,
      heartbeatIntervalMs: 30_000,
      idleTimeoutMs: { polecat: 120_000, refinery: 600_000 },
      stopTimeoutMs: 20_000,
      ...options.settings,
    },
    git,
    ...(options.gitTokens ? { gitTokens: options.gitTokens } : {}),
    brokerApi,
    createBroker: (o) => {
      const b = new FakeBroker(o, log);
      brokers.push(b);
      return b;
    },
    createClient: (o) => {
      const c = new FakeClient(o.agent.id, log);
      options.onClient?.(c);
      clients.push(c);
      return c;
    },
    createHeartbeat: (o) => {
      const h = new FakeHeartbeat(o as SupervisorHeartbeatOptions, (o.client as FakeClient).agentId, log);
      heartbeats.push(h);
      return h;
    },
    createEventSink: (o) => {
      sinkOptions.push(o);
      const s = new FakeSink((o.client as FakeClient).agentId, log);
      sinks.push(s);
      return s;
    },
    createRuntime: (o) => {
      const r = new FakeRuntime(o, log, ++pid);
      if (options.runtimeStartError) r.startError = options.runtimeStartError;
      if (options.setupResult) r.prepareResult = options.setupResult;
      runtimes.push(r);
      return r;
    },
    clock: { now: () => Date.now() },
    random: () => 0.5,
    timers: globalTimers,
    fetch: (async () => {
      throw new Error('no network in supervisor tests');
    }) as typeof fetch,
    logger: silentLogger,
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  const pick = <T extends { agentId?: string }>(list: T[], agentId: string, key: (t: T) => string) => {
    const found = list.filter((t) => key(t) === agentId).at(-1);
    if (!found) throw new Error(`no fake for ${agentId}`);
    return found;
  };
  return {
    supervisor,
    log,
    git,
    brokerApi,
    brokers,
    clients,
    heartbeats,
    sinks,
    sinkOptions,
    runtimes,
    dataDir,
    latest: (agentId) => ({
      broker: pick(brokers, agentId, (b) => b.agentId),
      client: pick(clients, agentId, (c) => c.agentId),
      heartbeat: pick(heartbeats, agentId, (h) => h.agentId),
      sink: pick(sinks, agentId, (s) => s.agentId),
      runtime: pick(runtimes as Array<FakeRuntime & { agentId?: string }>, agentId, (r) => r.options.agent.id),
    }),
  };
}
