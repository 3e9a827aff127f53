export { PeriodicHeartbeatLoop, createHeartbeatLoop, DEFAULT_HEARTBEAT_INTERVAL_MS } from './heartbeat-loop';
export type { HeartbeatLoop, HeartbeatLoopFactory, HeartbeatLoopOptions, RuntimeSnapshot } from './heartbeat-loop';
export {
  BatchingEventSink,
  createEventSink,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_BUFFER,
  DROPPED_EVENT_TYPE,
  ESSENTIAL_EVENT_PREFIXES,
  isEssentialByDefault,
} from './event-sink';
export type { EventSink, EventSinkFactory, EventSinkOptions, EventSinkStats } from './event-sink';
export { redactEvent, NO_SECRETS } from './redact-event';
export { reportCompletion, reportMergeResult, withReportRetries } from './reports';
export type { ReportOptions } from './reports';
export { withRetry, isRetryable, sleep, NON_RETRYABLE_CODES, DEFAULT_REPORT_ATTEMPTS } from './retry';
export type { RetryOptions } from './retry';
