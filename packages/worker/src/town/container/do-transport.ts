import { asGastownError } from '@gastown/protocol';
import type { ContainerSettings } from '../container-client';
import { unwrap, type RpcResult } from '../rpc-result';
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
}

/**
 * Production: control-API calls through the town's TownContainerDO (a Cloudflare Container).
 * A call that does not come back is `container_unavailable`; a typed error the DO answers with
 * is rethrown with its own code.
 */
export class DurableObjectTransport implements ContainerTransport {
  constructor(
    private readonly stub: TownContainerRpc,
    private readonly townId: string,
  ) {}

  call(req: ContainerCall): Promise<ContainerCallResult> {
    return reach(() => this.stub.call(req, this.townId), 'the town container did not answer');
  }

  async configure(settings: ContainerSettings): Promise<void> {
    const notAccepted = 'the town container did not accept its settings';
    unwrap(await reach(() => this.stub.setEnvVars(settings.envVars), notAccepted));
    unwrap(await reach(() => this.stub.configure({ sleepAfterSeconds: settings.sleepAfterSeconds }), notAccepted));
  }

  keepAwake(): Promise<boolean> {
    return reach(() => this.stub.keepAwake(), 'the town container did not renew its activity timeout');
  }
}

/** One RPC to the DO; a failure to reach it (or an untyped throw) is `container_unavailable`. */
async function reach<T>(rpc: () => Promise<T>, message: string): Promise<T> {
  try {
    return await rpc();
  } catch (err) {
    throw asGastownError(err, 'container_unavailable', message);
  }
}
