import { GastownError } from '@gastown/protocol';
import type { AgentEventRepository, TownEventRepository } from './repositories/event-repository';

const DAY_MS = 24 * 3600_000;

/**
 * How long a town keeps its events (`town_events`, the audit trail and the dashboard's feed, and
 * `agent_events`, the agents' reports and their deduplication keys), each table on its own:
 * at most `maxRows` rows and nothing older than `maxAgeMs`. One pruning pass deletes at most
 * `batchRows` rows per table, so a town far past retention catches up over a few alarms
 * instead of in one long write.
 */
export interface EventRetention {
  maxRows: number;
  maxAgeMs: number;
  batchRows: number;
}

/** Defaults: 10,000 rows and 7 days per table, 1,000 rows per pass. */
export const DEFAULT_EVENT_RETENTION: Readonly<EventRetention> = Object.freeze({ maxRows: 10_000, maxAgeMs: 7 * DAY_MS, batchRows: 1_000 });

export interface EventPruneResult {
  townEvents: number;
  agentEvents: number;
  /** A table hit `batchRows`: more may be past retention, run again soon. */
  more: boolean;
}

export function assertEventRetention(retention: EventRetention): void {
  for (const key of ['maxRows', 'maxAgeMs', 'batchRows'] as const) {
    const value = retention[key];
    if (!Number.isSafeInteger(value) || value < 1) throw new GastownError('config_invalid', `event retention ${key} must be a positive integer`);
  }
}

/**
 * One pruning pass over a town's event tables (call it from the alarm; each table gets one
 * bounded DELETE). Events are pruned by the time they were recorded, on the control plane's clock.
 */
export function pruneEvents(
  repos: { townEvents: Pick<TownEventRepository, 'prune'>; agentEvents: Pick<AgentEventRepository, 'prune'> },
  now: number,
  retention: EventRetention = DEFAULT_EVENT_RETENTION,
): EventPruneResult {
  assertEventRetention(retention);
  const bounds = { olderThan: now - retention.maxAgeMs, keepNewest: retention.maxRows, batch: retention.batchRows };
  const townEvents = repos.townEvents.prune(bounds);
  const agentEvents = repos.agentEvents.prune(bounds);
  return { townEvents, agentEvents, more: townEvents >= retention.batchRows || agentEvents >= retention.batchRows };
}
