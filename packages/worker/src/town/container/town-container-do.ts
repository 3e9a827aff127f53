import { Container, type StopParams } from '@cloudflare/containers';
import { CONTAINER_KEY_HEADER, deriveTownContainerKey, TOWN_ENV_PREFIX } from '@gastown/protocol';
import { describeUnexpected, toRpcResult, type RpcResult } from '../rpc-result';
import { withDeadline } from './call-deadline';
import { callTimedOut, unavailableFromAnswer, unavailableFromThrown } from './container-call-errors';
import { callBudgetMs, CONTAINER_LIMITS, type ContainerLimits } from './container-limits';
import type { ContainerCall, ContainerCallResult, ContainerStoppedNotice, TownContainerSettingsPatch, TownStopRpc } from './container-rpc';
import { DEFAULT_SLEEP_AFTER_SECONDS, validEnvVarName, validEnvVarValue, validSleepAfterSeconds, validTownEnvVars } from './town-container-settings';

/** The port the container control server listens on (the image sets CONTAINER_PORT=8080). */
export const CONTAINER_PORT = 8080;
/** Container settings passed through from the worker's env to every boot, when set. */
export const CONTAINER_PASSTHROUGH_VARS = [
  'GASTOWN_HEARTBEAT_INTERVAL_SECONDS',
  'GASTOWN_POLECAT_IDLE_TIMEOUT_SECONDS',
  'GASTOWN_REFINERY_IDLE_TIMEOUT_SECONDS',
  'GASTOWN_LOG_LEVEL',
] as const;

const KV_ENV_VARS = 'gastown:town-env-vars';
const KV_SLEEP_AFTER = 'gastown:sleep-after-seconds';
/** The town this container serves (known from its first call): onStop tells that town. */
const KV_TOWN_ID = 'gastown:town-id';

/** Payload of the `killAfterGrace` schedule: when the SIGTERM it follows up was sent. */
interface KillAfterGrace {
  stopRequestedAt: number;
}

/**
 * Production only: one Cloudflare Container per town. It holds what a boot needs — the town env
 * vars (LLM provider keys …, persisted here so a wake after sleep has them) and the town's
 * `sleepAfter` — and proxies control-API calls to the container. Per-agent tokens pass through
 * `call` bodies and are never stored here.
 * The settings methods return an RpcResult: Workers RPC keeps only the message of a thrown
 * error, and a refused setting must reach the caller as `validation_failed`, not as an outage.
 *
 * Hardened against the library's gaps (issue 15): every call has a time limit (CONTAINER_LIMITS,
 * an abort signal and a race), a cold start is explicit with a readiness wait sized like the local
 * host's, library failures are `container_unavailable` (container-call-errors.ts), a stop is
 * SIGTERM then SIGKILL after a grace period, a sleepAfter change is re-armed at once, and a stop
 * tells the town at once (onStop).
 *
 * Never instantiated by `wrangler dev`: `Container`'s constructor throws without a container
 * runtime. The TownDO routes to the local container host before it ever touches this binding
 * (see client-factory.ts). Tests construct it with a fake `ctx.container` (test/container-do).
 */
export class TownContainerDO extends Container<Env> {
  override defaultPort = CONTAINER_PORT;
  /** The town's derived container key (never the deployment's): known from the first call on, which names the town. */
  private townKey: { townId: string; key: string } | null = null;
  private readonly limits: ContainerLimits;

  constructor(ctx: DurableObjectState<{}>, env: Env, limits: ContainerLimits = CONTAINER_LIMITS) {
    super(ctx, env);
    this.limits = limits;
    // Read synchronously: Container's constructor reads `sleepAfter` a microtask later.
    this.sleepAfter = this.storedSleepAfterSeconds();
    this.envVars = this.bootEnv(this.storedEnvVars());
  }

  /** Set or delete one town env var; applies at the next boot. */
  setEnvVar(name: string, value: string | null): Promise<RpcResult<void>> {
    return toRpcResult(console, 'setEnvVar', () => {
      const vars = this.storedEnvVars();
      if (value === null) delete vars[name];
      else vars[validEnvVarName(name)] = validEnvVarValue(value);
      this.saveEnvVars(vars);
    });
  }

  /** Replace every town env var; applies at the next boot. */
  setEnvVars(vars: Record<string, string>): Promise<RpcResult<void>> {
    return toRpcResult(console, 'setEnvVars', () => this.saveEnvVars(validTownEnvVars(vars)));
  }

  /** Town settings other than env vars (today: sleepAfter). */
  configure(patch: TownContainerSettingsPatch): Promise<RpcResult<void>> {
    return toRpcResult(console, 'configure', async () => {
      if (patch.sleepAfterSeconds === undefined) return;
      const seconds = validSleepAfterSeconds(patch.sleepAfterSeconds);
      const changed = seconds !== this.sleepAfter;
      this.ctx.storage.kv.put(KV_SLEEP_AFTER, seconds);
      this.sleepAfter = seconds;
      // an awake container sleeps by the new window from now, not by the old one: the deadline is
      // moved and the library's alarm loop (which may be waiting up to 3 min) looks again at once
      if (changed && this.running()) {
        this.renewActivityTimeout();
        await this.scheduleNextAlarm();
      }
    });
  }

  /**
   * Stop the container gracefully (SIGTERM: it drains) and SIGKILL it after the grace period, so its
   * next boot takes the current env vars and settings. Never starts it.
   */
  restart(): Promise<RpcResult<{ wasRunning: boolean }>> {
    return toRpcResult(console, 'restart', async () => {
      const wasRunning = this.running();
      if (wasRunning) await this.stopGracefully();
      return { wasRunning };
    });
  }

  /**
   * The town is deleted: no callback to the (gone) town, SIGKILL at once (no drain: the work is
   * thrown away), then everything this object stored — the town's env vars (its provider key), its
   * settings and the library's schedules — is deleted. Never starts the container.
   */
  destroyTown(): Promise<RpcResult<{ wasRunning: boolean }>> {
    return toRpcResult(console, 'destroyTown', async () => {
      const wasRunning = this.running();
      this.ctx.storage.kv.delete(KV_TOWN_ID);
      if (wasRunning) await this.destroy();
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      return { wasRunning };
    });
  }

  /** Sleep after `sleepAfter` without activity: SIGTERM, then SIGKILL after the grace period (the library only sends SIGTERM). */
  override async onActivityExpired(): Promise<void> {
    if (!this.running()) return;
    await this.stopGracefully();
  }

  /**
   * Scheduled by stopGracefully (the library's alarm schedules, so it survives an eviction): SIGKILL
   * a container still running the grace period after its SIGTERM — unless it is a newer boot.
   */
  async killAfterGrace(payload: KillAfterGrace): Promise<void> {
    if (!this.running()) return;
    const state = await this.getState();
    if (state.lastChange > payload.stopRequestedAt) return; // started again since the SIGTERM: not the one asked to stop
    console.warn({ msg: 'town container ignored SIGTERM for its grace period: SIGKILL', graceMs: this.limits.stopGraceMs });
    await this.destroy();
  }

  /** The container stopped (exit, crash, signal): the town is told at once instead of after missed heartbeats. */
  override async onStop(params: StopParams): Promise<void> {
    const townId = this.ctx.storage.kv.get<string>(KV_TOWN_ID);
    console.info({ msg: 'town container stopped', townId: townId ?? null, exitCode: params.exitCode, reason: params.reason });
    const towns = this.env.TOWN as unknown as DurableObjectNamespace | undefined;
    if (!townId || !towns) return;
    const notice: ContainerStoppedNotice = { exitCode: params.exitCode, reason: params.reason, stoppedAt: Date.now() };
    try {
      const town = towns.get(towns.idFromName(townId)) as unknown as TownStopRpc;
      await town.containerStopped(notice);
    } catch (err) {
      // the town still finds out from missed heartbeats
      console.warn({ msg: 'could not tell the town its container stopped', townId, error: describeUnexpected(err) });
    }
  }

  /**
   * Restart the sleepAfter window of a running container, as an inbound request would, without
   * sending it anything (the TownDO calls this while an agent works). Never starts it.
   */
  async keepAwake(): Promise<boolean> {
    if (!this.running()) return false;
    this.renewActivityTimeout();
    return true;
  }

  /** Whether the container runs now. Never starts it. */
  async isRunning(): Promise<boolean> {
    return this.running();
  }

  /**
   * One control-API request. With `wake: false` a stopped container is left asleep and the
   * answer is `{ running: false }` — `status`, `push` and `stop` must never wake a town.
   * Within the call's budget (callBudgetMs) or `container_unavailable`; a library failure (no
   * instance, rate limited, failed start, dropped connection) is `container_unavailable` too.
   * Thrown errors cross RPC as their message; DurableObjectTransport rethrows them as `container_unavailable`.
   */
  async call(req: ContainerCall, townId: string): Promise<ContainerCallResult> {
    if (!req.wake && !this.running()) return { running: false };
    const key = await this.containerKeyOf(townId);
    if (this.ctx.storage.kv.get<string>(KV_TOWN_ID) !== townId) this.ctx.storage.kv.put(KV_TOWN_ID, townId);
    // the boot env carries the town's key: a call that wakes the container starts it with it
    this.envVars = this.bootEnv(this.storedEnvVars());
    const budgetMs = callBudgetMs(req, this.limits.calls);
    return withDeadline(
      budgetMs,
      async (signal) => {
        await this.ready(signal);
        const headers: Record<string, string> = { [CONTAINER_KEY_HEADER]: key };
        if (req.body !== undefined) headers['content-type'] = 'application/json';
        let response: Response;
        try {
          response = await this.containerFetch(`http://container${req.path}`, {
            method: req.method,
            headers,
            signal,
            ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
          });
        } catch (err) {
          throw unavailableFromThrown(err);
        }
        const body = await response.text();
        const failure = unavailableFromAnswer(response.status, body);
        if (failure) throw failure;
        return { running: true, status: response.status, body, instanceId: null };
      },
      () => callTimedOut(budgetMs),
    );
  }

  /**
   * An explicit start with a readiness wait sized like the local host's (CONTAINER_LIMITS), instead
   * of the library's 8 s + ~20 s inside containerFetch. Aborted with the call.
   */
  private async ready(signal: AbortSignal): Promise<void> {
    const state = await this.getState();
    if (this.running() && state.status === 'healthy') return;
    try {
      await this.startAndWaitForPorts({
        ports: CONTAINER_PORT,
        cancellationOptions: {
          abort: signal,
          instanceGetTimeoutMS: this.limits.instanceGetMs,
          portReadyTimeoutMS: this.limits.portReadyMs,
          waitInterval: this.limits.pollIntervalMs,
        },
      });
    } catch (err) {
      throw unavailableFromThrown(err);
    }
  }

  /** SIGTERM now, and a SIGKILL scheduled for the end of the grace period. */
  private async stopGracefully(): Promise<void> {
    const stopRequestedAt = Date.now();
    await this.stop('SIGTERM');
    const payload: KillAfterGrace = { stopRequestedAt };
    await this.schedule(Math.ceil(this.limits.stopGraceMs / 1000), 'killAfterGrace', payload);
  }

  private running(): boolean {
    return this.ctx.container?.running ?? false;
  }

  /** The town's container key: HMAC of the deployment's GASTOWN_CONTAINER_KEY and the town id (computed once per town id). */
  private async containerKeyOf(townId: string): Promise<string> {
    if (this.townKey?.townId !== townId) this.townKey = { townId, key: await deriveTownContainerKey(this.env.GASTOWN_CONTAINER_KEY ?? '', townId) };
    return this.townKey.key;
  }

  private storedEnvVars(): Record<string, string> {
    const stored = this.ctx.storage.kv.get<Record<string, string>>(KV_ENV_VARS);
    return stored && typeof stored === 'object' ? { ...stored } : {};
  }

  private storedSleepAfterSeconds(): number {
    const stored = this.ctx.storage.kv.get<number>(KV_SLEEP_AFTER);
    return typeof stored === 'number' ? stored : DEFAULT_SLEEP_AFTER_SECONDS;
  }

  private saveEnvVars(vars: Record<string, string>): void {
    this.ctx.storage.kv.put(KV_ENV_VARS, vars);
    this.envVars = this.bootEnv(vars);
  }

  /**
   * The env of the next boot: container settings, the town's container key (once known: every call
   * sets it before it can wake the container) and `TOWN_ENV_<NAME>` per town var. Never the
   * deployment's key: one town's container cannot authenticate as another's.
   */
  private bootEnv(townVars: Record<string, string>): Record<string, string> {
    const env: Record<string, string> = {};
    const source = this.env as unknown as Record<string, unknown>;
    for (const name of CONTAINER_PASSTHROUGH_VARS) {
      const value = source[name];
      if (typeof value === 'string' && value !== '') env[name] = value;
    }
    if (this.townKey) env.GASTOWN_CONTAINER_KEY = this.townKey.key;
    for (const [name, value] of Object.entries(townVars)) env[TOWN_ENV_PREFIX + name] = value;
    return env;
  }
}
