import {
  GastownError,
  type AgentRuntimeStatus,
  type DeliverMessageRequest,
  type MergeRequest,
  type PushCredentialsRequest,
  type StartAgentRequest,
} from '@gastown/protocol';

/** Whether a container-side action reached a running agent. */
export type ContainerDelivery = 'delivered' | 'not_running';

/**
 * How the TownDO talks to its town's container (the container control API, CONTAINER_API).
 * Contract for implementations:
 * - `not_running` / `null` mean "the container answered: no such agent" (or no container is up).
 * - a container that cannot be reached or answers badly throws GastownError
 *   `container_unavailable` (503) or `upstream_failed` (502) — never a silent success.
 * - no method may wake a sleeping container except `start`, `deliver` and `merge`
 *   (`status` and `push` only talk to a container that is already awake).
 */
export interface ContainerClient {
  start(req: StartAgentRequest): Promise<AgentRuntimeStatus>;
  deliver(agentId: string, req: DeliverMessageRequest): Promise<ContainerDelivery>;
  push(agentId: string, req: PushCredentialsRequest): Promise<ContainerDelivery>;
  stop(agentId: string, reason: string): Promise<ContainerDelivery>;
  status(agentId: string): Promise<AgentRuntimeStatus | null>;
  merge(req: MergeRequest): Promise<{ accepted: true }>;
}

/** No container attached yet: nothing runs, so nothing can be started or merged. */
export class NullContainerClient implements ContainerClient {
  async start(_req: StartAgentRequest): Promise<AgentRuntimeStatus> {
    throw new GastownError('container_unavailable', 'no container runtime is configured for this town');
  }
  async deliver(_agentId: string, _req: DeliverMessageRequest): Promise<ContainerDelivery> {
    return 'not_running';
  }
  async push(_agentId: string, _req: PushCredentialsRequest): Promise<ContainerDelivery> {
    return 'not_running';
  }
  async stop(_agentId: string, _reason: string): Promise<ContainerDelivery> {
    return 'not_running';
  }
  async status(_agentId: string): Promise<AgentRuntimeStatus | null> {
    return null;
  }
  async merge(_req: MergeRequest): Promise<{ accepted: true }> {
    throw new GastownError('container_unavailable', 'no container runtime is configured for this town');
  }
}

/** Chooses the container client for a town. The next engineer plugs the real one in here. */
export type ContainerClientFactory = (townId: string) => ContainerClient;
export const nullContainerClientFactory: ContainerClientFactory = () => new NullContainerClient();
