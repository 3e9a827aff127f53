import { GastownError } from '@gastown/protocol';
import type { ContainerSettings } from '../container-client';
import type { ContainerCall, ContainerCallResult, TownContainerSettingsPatch } from './container-rpc';
import type { ContainerTransport } from './container-transport';

/** The RPC surface of TownContainerDO this transport uses (a stub, or a fake in tests). */
export interface TownContainerRpc {
  call(req: ContainerCall): Promise<ContainerCallResult>;
  setEnvVars(vars: Record<string, string>): Promise<void>;
  configure(patch: TownContainerSettingsPatch): Promise<void>;
  keepAwake(): Promise<boolean>;
}

/** Production: control-API calls through the town's TownContainerDO (a Cloudflare Container). */
export class DurableObjectTransport implements ContainerTransport {
  constructor(private readonly stub: TownContainerRpc) {}

  async call(req: ContainerCall): Promise<ContainerCallResult> {
    try {
      return await this.stub.call(req);
    } catch (err) {
      throw unavailable(err, 'the town container did not answer');
    }
  }

  async configure(settings: ContainerSettings): Promise<void> {
    try {
      await this.stub.setEnvVars(settings.envVars);
      await this.stub.configure({ sleepAfterSeconds: settings.sleepAfterSeconds });
    } catch (err) {
      throw unavailable(err, 'the town container did not accept its settings');
    }
  }

  async keepAwake(): Promise<boolean> {
    try {
      return await this.stub.keepAwake();
    } catch (err) {
      throw unavailable(err, 'the town container did not renew its activity timeout');
    }
  }
}

function unavailable(err: unknown, message: string): GastownError {
  if (err instanceof GastownError) return err;
  return new GastownError('container_unavailable', message, { cause: err });
}
