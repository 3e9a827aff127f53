import { asGastownError, GastownError } from '@gastown/protocol';
import type { ContainerSettings } from '../container-client';
import { unwrap, type RpcResult } from '../rpc-result';
import { withDeadline } from './call-deadline';
import { callBudgetMs, CONTAINER_LIMITS, type ContainerLimits } from './container-limits';
import type { ContainerCall, ContainerCallResult, TownContainerSettingsPatch } from './container-rpc';
import type { ContainerTransport } from './container-transport';

/**
 * The RPC surface of TownContainerDO this transport uses (a stub, or a fake in tests). The settings
 * methods answer with an RpcResult: Workers RPC keeps only the message of a thrown error, so a
 * refusal (`validation_failed`) travels as data and keeps its code.
 */
export interface TownContainerRpc {
  /** `townId`: the town the container serves — the container key of the call and of a boot is that town's (derived) key. */
  call(req: ContainerCall, townId: string): Promise<ContainerCallResult>;
  setEnvVars(vars: Record<string, string>): Promise<RpcResult<void>>;
  configure(patch: TownContainerSettingsPatch): Promise<RpcResult<void>>;
  keepAwake(): Promise<boolean>;
  restart(): Promise<RpcResult<{ wasRunning: boolean }>>;
  destroyTown(): Promise<RpcResult<{ wasRunning: boolean }>>;
}

/**
 * Production: control-API calls through the town's TownContainerDO (a Cloudflare Container).
 * A call that does not come back is `container_unavailable`; a typed error the DO answers with
 * is rethrown with its own code. The DO limits each call itself (CONTAINER_LIMITS); this side adds
 * a backstop (the call's budget + `rpcMarginMs`) so a stuck object cannot hold the TownDO either.
 */
export class DurableObjectTransport implements ContainerTransport {
  constructor(
    private readonly stub: TownContainerRpc,
    private readonly townId: string,
    private readonly limits: ContainerLimits = CONTAINER_LIMITS,
  ) {}

  call(req: ContainerCall): Promise<ContainerCallResult> {
    return this.reach(() => this.stub.call(req, this.townId), 'the town container did not answer', callBudgetMs(req, this.limits.calls));
  }

  async configure(settings: ContainerSettings): Promise<void> {
    const notAccepted = 'the town container did not accept its settings';
    unwrap(await this.reach(() => this.stub.setEnvVars(settings.envVars), notAccepted));
    unwrap(await this.reach(() => this.stub.configure({ sleepAfterSeconds: settings.sleepAfterSeconds }), notAccepted));
  }

  keepAwake(): Promise<boolean> {
    return this.reach(() => this.stub.keepAwake(), 'the town container did not renew its activity timeout');
  }

  async restart(): Promise<{ wasRunning: boolean }> {
    return unwrap(await this.reach(() => this.stub.restart(), 'the town container could not be restarted'));
  }

  async destroy(): Promise<{ wasRunning: boolean }> {
    return unwrap(await this.reach(() => this.stub.destroyTown(), 'the town container could not be destroyed'));
  }

  /**
   * One RPC to the DO within `budgetMs` + the margin; a failure to reach it (or an untyped throw) is
   * `container_unavailable`.
   */
  private reach<T>(rpc: () => Promise<T>, message: string, budgetMs = this.limits.calls.otherMs): Promise<T> {
    const limitMs = budgetMs + this.limits.rpcMarginMs;
    return withDeadline(
      limitMs,
      async () => {
        try {
          return await rpc();
        } catch (err) {
          throw asGastownError(err, 'container_unavailable', message);
        }
      },
      () => new GastownError('container_unavailable', `${message} within ${Math.round(limitMs / 1000)} s`),
    );
  }
}
