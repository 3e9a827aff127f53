/** The one alarm of a TownDO, behind an interface so tests can drive the reconciler by hand. */
export interface AlarmScheduler {
  get(): Promise<number | null>;
  set(at: number): Promise<void>;
  clear(): Promise<void>;
}

export function storageAlarms(storage: DurableObjectStorage): AlarmScheduler {
  return {
    get: () => storage.getAlarm(),
    set: (at) => storage.setAlarm(at),
    clear: () => storage.deleteAlarm(),
  };
}

/** Records the alarm instead of arming one (tests call `TownDO.alarm()` themselves). */
export class ManualAlarms implements AlarmScheduler {
  at: number | null = null;
  readonly history: (number | null)[] = [];
  async get(): Promise<number | null> {
    return this.at;
  }
  async set(at: number): Promise<void> {
    this.at = at;
    this.history.push(at);
  }
  async clear(): Promise<void> {
    this.at = null;
    this.history.push(null);
  }
}
