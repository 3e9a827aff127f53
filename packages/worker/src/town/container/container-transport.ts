import type { ContainerSettings } from '../container-client';
import type { ContainerCall, ContainerCallResult } from './container-rpc';

/**
 * How control-API calls reach one town's container: the local container host over HTTP, or the
 * production TownContainerDO over RPC. A transport throws GastownError `container_unavailable`
 * when it cannot deliver the call; HTTP answers (any status) come back as data.
 */
export interface ContainerTransport {
  call(req: ContainerCall): Promise<ContainerCallResult>;
  /** Store settings for the container's next boot; never wakes it. */
  configure(settings: ContainerSettings): Promise<void>;
  /** Restart an awake container's sleepAfter window without contacting it; false when it sleeps (never wakes it). */
  keepAwake(): Promise<boolean>;
  /**
   * Stop the town's container gracefully (SIGTERM: the container drains — polecats' work committed,
   * mayor sessions saved — then SIGKILL after the grace period) so its next boot takes the current
   * settings and env vars. Never starts it; `wasRunning: false` when it already slept.
   */
  restart(): Promise<{ wasRunning: boolean }>;
  /**
   * The town is deleted: kill its container at once (no drain: its work is being thrown away) and
   * remove what the runtime keeps for it (stored env vars and settings; the local host: its data
   * dir). Never starts it.
   */
  destroy(): Promise<{ wasRunning: boolean }>;
}

/** Per-call time budgets, ms. A start clones the rig and boots a runtime; the rest are quick. */
export interface ContainerTimeouts {
  startMs: number;
  deliverMs: number;
  otherMs: number;
}

export const DEFAULT_CONTAINER_TIMEOUTS: ContainerTimeouts = { startMs: 180_000, deliverMs: 60_000, otherMs: 30_000 };
