/** Plain-data shapes crossing the RPC boundary between the TownDO and TownContainerDO. */

/** One container control-API request. `wake: false` → never start a sleeping container. */
export interface ContainerCall {
  method: 'GET' | 'POST';
  /** A CONTAINER_API path with parameters filled in. */
  path: string;
  body?: unknown;
  wake: boolean;
}

/** The container's answer, or `{running: false}` when it sleeps and the call may not wake it. */
export type ContainerCallResult = { running: false } | { running: true; status: number; body: string; instanceId: string | null };

export interface TownContainerSettingsPatch {
  sleepAfterSeconds?: number;
}

/** What TownContainerDO tells the town when its container stopped (exit, crash, signal). */
export interface ContainerStoppedNotice {
  exitCode: number;
  /** The library's StopParams reason: `exit` (the process ended) or `runtime_signal`. */
  reason: 'exit' | 'runtime_signal';
  stoppedAt: number;
}

/**
 * The TownDO method TownContainerDO's onStop calls (`TOWN.idFromName(townId)`): the town learns at
 * once that the runs in that container are gone, instead of after missed heartbeats.
 */
export interface TownStopRpc {
  containerStopped(notice: ContainerStoppedNotice): Promise<unknown>;
}
