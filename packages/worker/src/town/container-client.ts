import {
  GastownError,
  type AgentRuntimeStatus,
  type ContainerNudgeRequest,
  type DeliverMessageRequest,
  type MergeRequest,
  type PushCredentialsRequest,
  type StartAgentRequest,
} from '@gastown/protocol';

/**
 * Whether a container-side action reached a running agent. `ending`: the container has the run but
 * it is stopping (an idle timeout, a stop) — its completion report is on its way, and a new
 * generation dispatched now would revoke the credentials that report and its last events carry.
 */
export type ContainerDelivery = 'delivered' | 'not_running' | 'ending';

/** How a stop goes: `afterTurn` lets the model call in flight finish (spend cap; StopAgentRequest). */
export interface StopOptions {
  afterTurn?: boolean;
}

/** What a town's container needs at boot: the town env vars (by their own names) and its sleepAfter. */
export interface ContainerSettings {
  envVars: Record<string, string>;
  sleepAfterSeconds: number;
}

/**
 * How the TownDO talks to its town's container (the container control API, CONTAINER_API).
 * Contract for implementations:
 * - `not_running` / `null` mean "the container answered: no such agent" (or no container is up);
 *   `ending` that the agent's run is stopping (409 from the container).
 * - a container that cannot be reached or answers badly throws GastownError
 *   `container_unavailable` (503) or `upstream_failed` (502) — never a silent success.
 * - no method may wake a sleeping container except `start`, `deliver` and `merge`
 *   (`status`, `push` and `stop` only talk to a container that is already awake).
 * - `configure` stores settings for the container's next boot; it never wakes it either.
 * - `keepAwake` restarts an awake container's sleepAfter window without contacting the container
 *   (Cloudflare: `renewActivityTimeout()` on TownContainerDO); false, and nothing else, when it
 *   sleeps. The TownDO calls it only while an agent reports that it works, so an idle town still
 *   goes to sleep on time.
 * - `restart` stops an awake container gracefully (it drains) so its next boot takes the settings
 *   last configured; it never starts one (`wasRunning: false` when the town sleeps).
 * - `removeRig` removes a deleted rig's workspaces in an awake container (`container_asleep`, and
 *   nothing else, when it sleeps: it never wakes it).
 * - `destroy` is the town's deletion: the container is killed at once (no drain), its stored
 *   settings (env vars) and its data are removed. Never starts one.
 */
export interface ContainerClient {
  start(req: StartAgentRequest): Promise<AgentRuntimeStatus>;
  deliver(agentId: string, req: DeliverMessageRequest): Promise<ContainerDelivery>;
  /** A nudge into a live agent's session, seen at its next turn; never wakes a sleeping container. */
  nudge(agentId: string, req: ContainerNudgeRequest): Promise<ContainerDelivery>;
  push(agentId: string, req: PushCredentialsRequest): Promise<ContainerDelivery>;
  stop(agentId: string, reason: string, options?: StopOptions): Promise<ContainerDelivery>;
  status(agentId: string): Promise<AgentRuntimeStatus | null>;
  merge(req: MergeRequest): Promise<{ accepted: true }>;
  configure(settings: ContainerSettings): Promise<void>;
  keepAwake(): Promise<boolean>;
  restart(): Promise<{ wasRunning: boolean }>;
  removeRig(rigId: string, agentIds: readonly string[]): Promise<'removed' | 'container_asleep'>;
  destroy(): Promise<{ wasRunning: boolean }>;
}

/** No container runtime configured: nothing runs, so nothing can be started or merged. */
export class NullContainerClient implements ContainerClient {
  async start(_req: StartAgentRequest): Promise<AgentRuntimeStatus> {
    throw new GastownError(
      'container_unavailable',
      'no container runtime is configured for this deployment (set GASTOWN_CONTAINER_HOST_URL locally, or deploy with wrangler.production.jsonc)',
    );
  }
  async deliver(_agentId: string, _req: DeliverMessageRequest): Promise<ContainerDelivery> {
    return 'not_running';
  }
  async push(_agentId: string, _req: PushCredentialsRequest): Promise<ContainerDelivery> {
    return 'not_running';
  }
  async nudge(_agentId: string, _req: ContainerNudgeRequest): Promise<ContainerDelivery> {
    return 'not_running';
  }
  async stop(_agentId: string, _reason: string, _options?: StopOptions): Promise<ContainerDelivery> {
    return 'not_running';
  }
  async status(_agentId: string): Promise<AgentRuntimeStatus | null> {
    return null;
  }
  async merge(_req: MergeRequest): Promise<{ accepted: true }> {
    throw new GastownError('container_unavailable', 'no container runtime is configured for this deployment');
  }
  async configure(_settings: ContainerSettings): Promise<void> {}
  async keepAwake(): Promise<boolean> {
    return false;
  }
  async restart(): Promise<{ wasRunning: boolean }> {
    return { wasRunning: false };
  }
  async removeRig(_rigId: string, _agentIds: readonly string[]): Promise<'removed' | 'container_asleep'> {
    return 'container_asleep';
  }
  async destroy(): Promise<{ wasRunning: boolean }> {
    return { wasRunning: false };
  }
}

/** Chooses the container client for a town (see container/client-factory.ts). */
export type ContainerClientFactory = (townId: string) => ContainerClient;
export const nullContainerClientFactory: ContainerClientFactory = () => new NullContainerClient();
