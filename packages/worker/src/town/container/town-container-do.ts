import { Container } from '@cloudflare/containers';
import { CONTAINER_KEY_HEADER, deriveTownContainerKey, TOWN_ENV_PREFIX } from '@gastown/protocol';
import { toRpcResult, type RpcResult } from '../rpc-result';
import type { ContainerCall, ContainerCallResult, TownContainerSettingsPatch } from './container-rpc';
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

/**
 * Production only: one Cloudflare Container per town. It holds what a boot needs — the town env
 * vars (LLM provider keys …, persisted here so a wake after sleep has them) and the town's
 * `sleepAfter` — and proxies control-API calls to the container. Per-agent tokens pass through
 * `call` bodies and are never stored here.
 * The settings methods return an RpcResult: Workers RPC keeps only the message of a thrown
 * error, and a refused setting must reach the caller as `validation_failed`, not as an outage.
 *
 * Never instantiated locally or in tests: `Container`'s constructor throws without a container
 * runtime. The TownDO routes to the local container host before it ever touches this binding
 * (see client-factory.ts).
 */
export class TownContainerDO extends Container<Env> {
  override defaultPort = CONTAINER_PORT;
  /** The town's derived container key (never the deployment's): known from the first call on, which names the town. */
  private townKey: { townId: string; key: string } | null = null;

  constructor(ctx: DurableObjectState<{}>, env: Env) {
    super(ctx, env);
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
    return toRpcResult(console, 'configure', () => {
      if (patch.sleepAfterSeconds === undefined) return;
      const seconds = validSleepAfterSeconds(patch.sleepAfterSeconds);
      this.ctx.storage.kv.put(KV_SLEEP_AFTER, seconds);
      this.sleepAfter = seconds;
    });
  }

  /**
   * Restart the sleepAfter window of a running container, as an inbound request would, without
   * sending it anything (the TownDO calls this while an agent works). Never starts it.
   */
  async keepAwake(): Promise<boolean> {
    if (!(this.ctx.container?.running ?? false)) return false;
    this.renewActivityTimeout();
    return true;
  }

  /** Whether the container runs now. Never starts it. */
  async isRunning(): Promise<boolean> {
    return this.ctx.container?.running ?? false;
  }

  /**
   * One control-API request. With `wake: false` a stopped container is left asleep and the
   * answer is `{ running: false }` — `status`, `push` and `stop` must never wake a town.
   */
  async call(req: ContainerCall, townId: string): Promise<ContainerCallResult> {
    if (!req.wake && !(this.ctx.container?.running ?? false)) return { running: false };
    const key = await this.containerKeyOf(townId);
    // the boot env carries the town's key: a call that wakes the container starts it with it
    this.envVars = this.bootEnv(this.storedEnvVars());
    const headers: Record<string, string> = { [CONTAINER_KEY_HEADER]: key };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.containerFetch(`http://container${req.path}`, {
      method: req.method,
      headers,
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    });
    return { running: true, status: response.status, body: await response.text(), instanceId: null };
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
