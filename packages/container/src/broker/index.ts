export { createCredentialBroker, REACTIVE_MIN_INTERVAL_MS, DEFAULT_REFRESH_TIMEOUT_MS } from './credential-broker';
export type { BrokerFactory, BrokerOptions, CredentialBroker } from './credential-broker';
export {
  refreshDelayMs,
  backoffDelayMs,
  estimateSkewMs,
  toLocalMs,
  isExpired,
  nextAttemptAt,
  planCredential,
  REFRESH_AT_FRACTION,
  REFRESH_JITTER_FRACTION,
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  ISSUED_AT_RESOLUTION_MS,
} from './refresh-schedule';
export type { CredentialTimes } from './refresh-schedule';
export { requestRefresh, refreshUrl, FATAL_REFRESH_CODES } from './refresh-request';
export type { RefreshOutcome } from './refresh-request';
export { createControlPlaneClient } from './control-plane-client';
export type { ControlPlaneClient, ControlPlaneClientFactory, ControlPlaneClientOptions, StoredSnapshot } from './control-plane-client';
