import type { Clock } from '@gastown/protocol';
import { asGastownError } from '@gastown/protocol';
import type { Logger } from '../log/logger';
import type { Timers } from '../timers';
import type { ContainerProcess } from './container-process';

/** Per-town settings the control plane sets (the local equivalent of `setEnvVar` and `sleepAfter`). */
export interface TownContainerSettings {
  envVars: Record<string, string>;
  sleepAfterMs: number;
}

/** One inbound request as the host saw it (for tests and the idle-town benchmark). */
export interface InboundRecord {
  at: number;
  method: string;
  path: string;
  instanceId: string;
}

export interface TownContainerState {
  running: boolean;
  instanceId: string | null;
  pid: number | null;
  startedAt: number | null;
  lastInboundAt: number | null;
  /** Last renewal of the sleep window by the control plane (an agent works); not an inbound request. */
  lastKeptAwakeAt: number | null;
  keepAwakes: number;
  sleepAfterMs: number;
  starts: number;
  sleeps: number;
  inbound: InboundRecord[];
}

export interface ContainerHostOptions {
  clock: Clock;
  timers: Timers;
  logger: Logger;
  defaultSleepAfterMs: number;
  stopGraceMs: number;
  /** Starts a container process for a town with the given env vars (town env included). */
  spawn: (townId: string, envVars: Record<string, string>) => Promise<ContainerProcess>;
  /** Removes a deleted town's data (the local host: its data dir); default none. */
  removeData?: (townId: string) => Promise<void>;
  /** Bound on the per-town inbound log kept for inspection. */
  maxInboundRecords?: number;
}

interface TownSlot {
  settings: TownContainerSettings;
  process: ContainerProcess | null;
  starting: Promise<ContainerProcess> | null;
  startedAt: number | null;
  lastInboundAt: number | null;
  lastKeptAwakeAt: number | null;
  keepAwakes: number;
  sleepTimer: unknown;
  inFlight: number;
  starts: number;
  sleeps: number;
  inbound: InboundRecord[];
}

/**
 * Emulates Cloudflare Containers on one machine: one container process per town, started on
 * the first inbound request, stopped after `sleepAfter` without inbound requests. Outbound
 * traffic from the container (heartbeats, refreshes) is invisible here and so never keeps a
 * container awake — the same rule as production. The control plane renews the window with
 * `keepAwake` while an agent works (production: `renewActivityTimeout()`).
 */
export class ContainerHost {
  private readonly towns = new Map<string, TownSlot>();

  constructor(private readonly options: ContainerHostOptions) {}

  configure(townId: string, patch: Partial<TownContainerSettings>): TownContainerState {
    const slot = this.slot(townId);
    if (patch.envVars) slot.settings.envVars = { ...patch.envVars };
    if (patch.sleepAfterMs !== undefined) {
      slot.settings.sleepAfterMs = patch.sleepAfterMs;
      if (slot.process) this.armSleep(townId, slot);
    }
    return this.state(townId);
  }

  /** Container for an inbound request: starts one if the town is asleep; counts as activity. */
  async acquire(townId: string, method: string, path: string): Promise<ContainerProcess> {
    const slot = this.slot(townId);
    const proc = slot.process ?? (await this.start(townId, slot));
    const now = this.options.clock.now();
    slot.lastInboundAt = now;
    slot.inFlight += 1;
    slot.inbound.push({ at: now, method, path, instanceId: proc.instanceId });
    const max = this.options.maxInboundRecords ?? 10_000;
    if (slot.inbound.length > max) slot.inbound.splice(0, slot.inbound.length - max);
    this.armSleep(townId, slot);
    return proc;
  }

  /** Mark the end of a forwarded request (long requests such as streams count until they end). */
  release(townId: string): void {
    const slot = this.towns.get(townId);
    if (!slot) return;
    slot.inFlight = Math.max(0, slot.inFlight - 1);
    if (!slot.process) return;
    slot.lastInboundAt = this.options.clock.now();
    this.armSleep(townId, slot);
  }

  /**
   * Restart a running container's sleepAfter window without a request to it (the local
   * `renewActivityTimeout()`: the control plane calls it while an agent works). Never starts a
   * sleeping container; not recorded as inbound. True when the container runs.
   */
  keepAwake(townId: string): boolean {
    const slot = this.towns.get(townId);
    if (!slot?.process) return false;
    slot.lastKeptAwakeAt = this.options.clock.now();
    slot.keepAwakes += 1;
    this.armSleep(townId, slot);
    return true;
  }

  state(townId: string): TownContainerState {
    const slot = this.slot(townId);
    return {
      running: slot.process !== null,
      instanceId: slot.process?.instanceId ?? null,
      pid: slot.process?.pid ?? null,
      startedAt: slot.startedAt,
      lastInboundAt: slot.lastInboundAt,
      lastKeptAwakeAt: slot.lastKeptAwakeAt,
      keepAwakes: slot.keepAwakes,
      sleepAfterMs: slot.settings.sleepAfterMs,
      starts: slot.starts,
      sleeps: slot.sleeps,
      inbound: [...slot.inbound],
    };
  }

  /** Graceful stop (same as sleep). */
  async stop(townId: string): Promise<void> {
    const slot = this.towns.get(townId);
    if (!slot?.process) return;
    await this.sleep(townId, slot, 'stop');
  }

  /**
   * The town is deleted: its container is killed at once (no drain) and awaited, then its slot
   * (settings: the town's env vars) is forgotten and `removeData` (its data dir) runs. True when
   * a container was running.
   */
  async destroy(townId: string): Promise<boolean> {
    const slot = this.towns.get(townId);
    let wasRunning = false;
    if (slot) {
      this.options.timers.clearTimeout(slot.sleepTimer);
      const proc = slot.process ?? (slot.starting ? await slot.starting.catch(() => null) : null);
      if (proc) {
        wasRunning = true;
        this.options.logger.info('container destroyed', { townId, instanceId: proc.instanceId });
        await proc.stop(0);
      }
      this.towns.delete(townId);
    }
    await this.options.removeData?.(townId);
    return wasRunning;
  }

  /** Fault injection: SIGKILL a town's container, as a crash would. */
  kill(townId: string): boolean {
    const slot = this.towns.get(townId);
    if (!slot?.process) return false;
    slot.process.kill();
    return true;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.towns.keys()].map((townId) => this.stop(townId)));
  }

  private slot(townId: string): TownSlot {
    let slot = this.towns.get(townId);
    if (!slot) {
      slot = {
        settings: { envVars: {}, sleepAfterMs: this.options.defaultSleepAfterMs },
        process: null,
        starting: null,
        startedAt: null,
        lastInboundAt: null,
        lastKeptAwakeAt: null,
        keepAwakes: 0,
        sleepTimer: null,
        inFlight: 0,
        starts: 0,
        sleeps: 0,
        inbound: [],
      };
      this.towns.set(townId, slot);
    }
    return slot;
  }

  private async start(townId: string, slot: TownSlot): Promise<ContainerProcess> {
    if (!slot.starting) {
      slot.starting = this.options
        .spawn(townId, slot.settings.envVars)
        .then((proc) => {
          slot.process = proc;
          slot.startedAt = this.options.clock.now();
          slot.starts += 1;
          this.options.logger.info('container started', { townId, instanceId: proc.instanceId, pid: proc.pid });
          void proc.exited.then(({ code, signal }) => {
            if (slot.process !== proc) return;
            slot.process = null;
            this.options.timers.clearTimeout(slot.sleepTimer);
            this.options.logger.warn('container exited', { townId, instanceId: proc.instanceId, code, signal });
          });
          return proc;
        })
        .finally(() => {
          slot.starting = null;
        });
    }
    try {
      return await slot.starting;
    } catch (error) {
      throw asGastownError(error, 'container_unavailable', 'container failed to start');
    }
  }

  private armSleep(townId: string, slot: TownSlot): void {
    this.options.timers.clearTimeout(slot.sleepTimer);
    slot.sleepTimer = this.options.timers.setTimeout(() => {
      // a request still being served keeps the container awake; its release re-arms the timer
      if (slot.inFlight > 0) return;
      void this.sleep(townId, slot, 'sleepAfter');
    }, slot.settings.sleepAfterMs);
  }

  private async sleep(townId: string, slot: TownSlot, reason: string): Promise<void> {
    const proc = slot.process;
    if (!proc) return;
    this.options.timers.clearTimeout(slot.sleepTimer);
    this.options.logger.info('container sleeping', { townId, instanceId: proc.instanceId, reason });
    await proc.stop(this.options.stopGraceMs);
    if (slot.process === proc) slot.process = null;
    slot.sleeps += 1;
  }
}
